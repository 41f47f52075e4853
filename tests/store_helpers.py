"""Small builders for records in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from esim_tui.domain.destinations import country
from esim_tui.domain.money import Money
from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.domain.plans import Plan, ProviderName

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def sample_plan(**changes) -> Plan:
    plan = Plan(
        provider=ProviderName.OCTOPUS,
        plan_id="5511",
        product_id="712",
        name="Japan 1 GB / 7 days",
        destination=country("JP"),
        data_mb=1000,
        validity_days=7,
        price=Money(amount=Decimal("4.50"), currency="USD"),
        coverage=("JP",),
        discount_percent=Decimal("5.0"),
    )
    return plan.model_copy(update=changes)


def order_for(plan: Plan, reference: str, **changes) -> Order:
    order = Order(
        id=reference.lower(),
        provider=plan.provider,
        client_reference=reference,
        plan=plan,
        price=plan.price,
        status=OrderStatus.UNKNOWN,
        created_at=T,
        updated_at=T,
    )
    return order.model_copy(update=changes)
