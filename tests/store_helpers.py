"""Small builders for records in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from esim_tui.domain.destinations import country
from esim_tui.domain.money import Money
from esim_tui.domain.orders import InstallState, Order, OrderStatus
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


def sold(reference: str, iccid: str, *, created_at: datetime = T, **changes) -> Order:
    """A delivered sale, not installed yet, with its ICCID and activation code, noted as the counter notes it."""
    plan = changes.pop("plan", None) or sample_plan()
    order = order_for(
        plan,
        reference,
        status=OrderStatus.DELIVERED,
        iccid=iccid,
        provider_order_id=f"oc-{reference.lower()}",
        activation_code=f"LPA:1$rsp.example.com${reference[-8:]}",
        install_state=InstallState.NOT_INSTALLED,
        created_at=created_at,
        updated_at=created_at,
        history=[],
    )
    order.note(created_at, "INTENT", f"{plan.name} for {order.price}")
    order.note(created_at, "SENT", reference)
    order.note(created_at, "DELIVERED")
    order.note(created_at, "ACTIVATION CODE RECEIVED")
    return order.model_copy(update=changes)
