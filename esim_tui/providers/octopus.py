"""Octopus Cards eSIM API adapter (``/api/v1/esim``), per the purchase-flow guide and providers.md B.

Products are countries, regions or GLO; each has variants, and ``(product_id, amount)`` picks the
variant, so the amount is echoed exactly as the provider wrote it. Orders carry our client reference,
which is also how an order of unknown outcome is found again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from esim_tui import jsonnum
from esim_tui.domain import destinations
from esim_tui.domain.codes import ActivationCode
from esim_tui.domain.destinations import Destination, DestinationKind, Region
from esim_tui.domain.errors import (
    DuplicateReference,
    InsufficientBalance,
    InvalidActivationCode,
    MalformedResponse,
    NotOffered,
    OutcomeUnknown,
    RequestRejected,
    UnknownDestination,
)
from esim_tui.domain.money import Money
from esim_tui.domain.orders import (
    ActivationStatus,
    EsimStatus,
    Failure,
    InstallState,
    Order,
    OrderStatus,
    ProviderOrder,
)
from esim_tui.domain.plans import Plan, ProviderName, Quote
from esim_tui.domain.text import clean
from esim_tui.providers.base import CatalogueCache, Provider
from esim_tui.providers.http import ProviderHttp, SecretHeaderAuth
from esim_tui.providers.parsing import decimal_value as _decimal
from esim_tui.providers.parsing import provider_iccid as _iccid
from esim_tui.providers.parsing import timestamp as _time

log = logging.getLogger(__name__)

PREFIX = "/api/v1/esim"
CATALOGUE_TTL = 3600.0  # the guide: "Cache for 1 hour — eSIM catalogues are stable"
PAGE_SIZE = 100
PRODUCT_FETCHES_AT_ONCE = 8


class OctopusHttp(ProviderHttp):
    def rejected(self, response: httpx.Response) -> RequestRejected:
        reason = self.reason(response)
        code = _error_code(response)
        if reason.strip().lower() == "duplicate client_reference" or code == "DUPLICATE_CLIENT_REFERENCE":
            return DuplicateReference(self.provider, response.status_code, reason)
        if "INSUFFICIENT" in code or "insufficient" in reason.lower():
            return InsufficientBalance(self.provider, response.status_code, reason)
        return RequestRejected(self.provider, response.status_code, reason)


class OctopusCards(Provider):
    """Follows the guide's schedules, which are the base class defaults: PENDING every 5 s doubling to
    30 s for 5 minutes; install every 30-60 s for 10 minutes, then every 5-10 minutes for an hour."""

    name = ProviderName.OCTOPUS
    idempotent_orders = True  # a second create with the same client_reference gets 400 Duplicate

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        **http_options: Any,
    ) -> None:
        self.http = OctopusHttp(self.name.value, base_url, SecretHeaderAuth("Authorization", token, "Bearer "), transport=transport, monotonic=monotonic, **http_options)
        self._catalogue = CatalogueCache(self._fetch_plans, monotonic, CATALOGUE_TTL)

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------ catalogue

    async def plans(self, *, refresh: bool = False) -> Sequence[Plan]:
        return await self._catalogue.get(refresh=refresh)

    async def _fetch_plans(self) -> tuple[Plan, ...]:
        products = [p async for p in self._pages(f"{PREFIX}/products", "products")]
        gate = asyncio.Semaphore(PRODUCT_FETCHES_AT_ONCE)

        async def variants_of(product: dict[str, Any]) -> list[Plan]:
            destination = _destination(product)
            if destination is None:
                return []
            async with gate:
                body = await self.http.read_json(f"{PREFIX}/products/{product['id']}", what="such product")
            detail = _unwrap(body, self.name)
            variants = detail.get("variants")
            if not isinstance(variants, list):
                variants = await self._all(f"{PREFIX}/products/{product['id']}/variants", "variants")
            return [plan for v in variants if (plan := self._plan(detail, v, destination)) is not None]

        groups = await asyncio.gather(*(variants_of(p) for p in products if isinstance(p, dict)))
        return tuple(plan for group in groups for plan in group)

    async def _pages(self, path: str, what: str, params: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        page = 1
        while True:
            response = await self.http.read(path, params={**(params or {}), "page": page, "per_page": PAGE_SIZE}, what=what)
            items = self.http.json(response)
            if not isinstance(items, list):
                raise MalformedResponse(self.name, f"{what} list is not a list")
            for item in items:
                yield item
            more = response.headers.get("X-Has-More")
            total_pages = response.headers.get("X-Total-Pages")
            if more is not None:
                if more.strip().lower() != "true":
                    return
            elif total_pages is not None:
                if not total_pages.isdigit() or page >= int(total_pages):
                    return
            elif len(items) < PAGE_SIZE:
                return
            page += 1

    async def _all(self, path: str, what: str, params: dict[str, Any] | None = None) -> list[Any]:
        return [item async for item in self._pages(path, what, params)]

    def _plan(self, product: dict[str, Any], variant: dict[str, Any], destination: Destination) -> Plan | None:
        try:
            gb = Decimal(variant.get("data_amount_gb") or 0)
            unlimited = gb <= 0
            return Plan(
                provider=self.name,
                plan_id=str(variant["id"]),
                product_id=str(product["id"]),
                name=clean(variant.get("name") or product.get("name"), max_length=120),
                destination=destination,
                data_mb=None if unlimited else int(gb * 1000),
                unlimited=unlimited,
                validity_days=int(variant["validity_days"]),
                price=Money(amount=_decimal(variant["amount"]), currency=variant.get("currency_code") or product.get("currency_code") or "USD"),
                description=clean(variant.get("description"), max_length=300),
                coverage=_coverage(destination),
                discount_percent=_decimal(variant["client_discount"]) if variant.get("client_discount") is not None else None,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            log.warning("octopus: skipping variant %r of product %r: %s", variant.get("id"), product.get("id"), type(exc).__name__)
            return None

    # ------------------------------------------------------------ ordering

    async def quote(self, plan: Plan) -> Quote:
        """The variant as the provider has it now; the wallet is debited the amount less client_discount."""
        body = await self.http.read_json(f"{PREFIX}/variants/{plan.plan_id}", what="such plan (it may no longer be sold)")
        variant = _unwrap(body, self.name)
        try:
            amount = _decimal(variant["amount"])
            discount = _decimal(variant.get("client_discount") or 0)
            currency = variant.get("currency_code") or plan.price.currency
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise MalformedResponse(self.name, "the plan has no usable amount") from None
        total = amount * (1 - discount / 100)
        note = f"{discount.normalize():f}% client discount on {amount}" if discount else ""
        valid = amount == plan.price.amount
        if not valid:
            note = f"The price changed from {plan.price.amount} to {amount}; refresh the catalogue."
        return Quote(plan_key=plan.key, total=Money(amount=total, currency=currency), valid=valid, note=note)

    async def place_order(self, plan: Plan, client_reference: str, *, iccid: str | None = None) -> ProviderOrder:
        if iccid is not None:
            raise NotOffered(self.name, "top-ups", "Sell a new eSIM for the same destination instead.")
        body = {
            "product_id": int(plan.product_id or 0),
            "amount": plan.price.amount,  # echoed exactly: (product_id, amount) picks the variant
            "quantity": 1,
            "client_reference": client_reference,
        }
        answer = await self.http.create(f"{PREFIX}/orders", body)
        try:
            return self._order(_unwrap(answer, self.name))
        except MalformedResponse as exc:
            raise OutcomeUnknown(self.name, exc) from None

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        body = await self.http.read_json(f"{PREFIX}/orders/{provider_order_id}", what="such order")
        return self._order(_unwrap(body, self.name))

    async def find_order(self, order: Order) -> ProviderOrder | None:
        # params= encodes the reference exactly; an f-string URL would turn "a+b" into "a b".
        response = await self.http.read(f"{PREFIX}/orders", params={"client_reference": order.client_reference}, what="such order")
        items = self.http.json(response)
        if not isinstance(items, list):
            raise MalformedResponse(self.name, "order list is not a list")
        matches = [i for i in items if isinstance(i, dict) and i.get("client_reference") == order.client_reference]
        if not matches:
            return None
        return await self.get_order(str(matches[0]["id"]))

    async def esim_status(self, order: Order) -> EsimStatus:
        if not order.provider_order_id:
            raise MalformedResponse(self.name, "the order has no provider order id yet")
        answer = await self.get_order(order.provider_order_id)
        return answer.esim or EsimStatus()

    async def send_receipt(self, order: Order, email: str) -> bool:
        """PATCH notification-email: the provider mails its templated receipt when the order is final."""
        if not order.provider_order_id:
            return False
        response = await self.http.send("PATCH", f"{PREFIX}/orders/{order.provider_order_id}/notification-email", json={"email": email})
        self.http.check(response, "such order")
        return True

    async def balance(self) -> Money | None:
        return None  # the eSIM API publishes no wallet balance

    # ------------------------------------------------------------ parsing

    def _order(self, data: dict[str, Any]) -> ProviderOrder:
        try:
            status = OrderStatus(str(data["status"]).upper())
            if status is OrderStatus.UNKNOWN:
                raise ValueError
        except (KeyError, ValueError):
            raise MalformedResponse(self.name, f"unexpected order status {clean(data.get('status'), max_length=40)!r}") from None
        try:
            order_id = str(data["id"])
            created = _time(data.get("created_at"))
            charged = Money(amount=_decimal(data["amount"]), currency=data.get("currency") or "USD") if data.get("amount") is not None else None
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise MalformedResponse(self.name, "the order lacks an id or a readable amount") from None
        failure = None
        if status is OrderStatus.FAILED:
            failure = Failure(
                code=clean(data.get("failure_code") or "UNKNOWN", max_length=80),
                reason=clean(data.get("failure_reason") or "The provider gave no reason.", max_length=300),
                is_user_fixable=bool(data.get("is_user_fixable")),
            )
        iccid = _iccid(data.get("iccid"), self.name)
        code = _activation_code(data.get("activation_code"), self.name)
        installed = bool(data.get("is_installed"))
        installed_at = _time(data.get("installed_at"))
        validity = data.get("validity_days")
        expires_at = installed_at + timedelta(days=int(validity)) if installed_at and isinstance(validity, int) else None
        activation = None
        if data.get("activation_status"):
            try:
                activation = ActivationStatus(str(data["activation_status"]).upper())
            except ValueError:
                log.warning("octopus: unknown activation_status %r", clean(data["activation_status"], max_length=40))
        esim = None
        if status is OrderStatus.DELIVERED:
            esim = EsimStatus(
                iccid=iccid,
                install_state=InstallState.INSTALLED if installed else InstallState.NOT_INSTALLED,
                activation_status=activation,
                installed_at=installed_at,
                activated_at=_time(data.get("activated_at")),
                expires_at=expires_at,
                activation_code=code,
            )
        return ProviderOrder(
            provider=self.name,
            provider_order_id=order_id,
            client_reference=data.get("client_reference"),
            status=status,
            failure=failure,
            iccid=iccid,
            activation_code=code,
            charged=charged,
            created_at=created,
            esim=esim,
            product_name=clean(data.get("product_name"), max_length=120),
        )


def _unwrap(body: Any, provider: str) -> dict[str, Any]:
    """Single objects come as {"data": {...}} in the docs' examples, bare in the guide's code: take both."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        body = body["data"]
    if not isinstance(body, dict):
        raise MalformedResponse(provider, "expected an object")
    return body


def _destination(product: dict[str, Any]) -> Destination | None:
    code = str(product.get("country_code") or "").strip().upper()
    if code == "GLO":
        return destinations.GLOBAL
    region = Region.from_code(code)
    if region is not None:
        return destinations.region(region)
    try:
        found = destinations.country(code)
    except UnknownDestination:
        log.warning("octopus: product %r has an unknown country_code %r", product.get("id"), clean(code, max_length=10))
        return None
    return found if found.kind is DestinationKind.COUNTRY else None


def _coverage(destination: Destination) -> tuple[str, ...]:
    if destination.kind is DestinationKind.COUNTRY:
        return (destination.code,)
    if destination.kind is DestinationKind.REGION and destination.region is not None:
        return tuple(d.code for d in destinations.countries_in(destination.region))
    return ()


def _activation_code(value: Any, provider: str) -> str | None:
    if not value:
        return None
    try:
        return ActivationCode.parse(str(value)).lpa
    except InvalidActivationCode as exc:
        raise MalformedResponse(provider, f"activation code: {exc.why}") from None


def _error_code(response: httpx.Response) -> str:
    try:
        body = jsonnum.loads(response.content)
        return str(body.get("error", {}).get("code", "")).upper() if isinstance(body, dict) else ""
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
