"""eSIM Go API v2.4 adapter, per eSIM Go's "Order your first eSIM" guide and providers.md section A.

Bundles are the plans (the bundle name is the plan id, case sensitive). A sale is a ``validate`` order
(the quote, charges nothing), then a ``transaction`` order assigning the bundle to a new eSIM, or with
an ICCID a top-up onto that eSIM. eSIM Go has no idempotency key and no client reference: a
transaction is never retried once it may have left, and an order of unknown outcome is found again
by bundle and time (``order_candidates``).

Where a bundle is sold (``Plan.destination``):

* one country, or a name whose area is one of its countries (``esim_1GB_7D_GB_V2``): that country;
* a regional name or description (``esim_1GB_7D_REUR_V2``, "..., Europe, V2"): that region; the
  global ones (``RGBS``, "Global"): worldwide;
* any other group of countries: the region most of them are in, or worldwide when they span three
  or more regions. The plan's name keeps eSIM Go's own label ("Middle East") and ``coverage`` lists
  the exact countries, so the agent sees what it covers.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeGuard
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from esim_tui.domain import destinations, formats
from esim_tui.domain.codes import ActivationCode, check_iccid
from esim_tui.domain.destinations import Destination, DestinationKind, Region
from esim_tui.domain.errors import (
    InsufficientBalance,
    InvalidActivationCode,
    InvalidIccid,
    MalformedResponse,
    NotFound,
    NotOffered,
    OutcomeUnknown,
    ProviderError,
    RateLimited,
    RequestRejected,
    UnknownDestination,
)
from esim_tui.domain.money import Money
from esim_tui.domain.orders import (
    ActivationStatus,
    BundleState,
    BundleUsage,
    EsimStatus,
    Failure,
    InstallState,
    Order,
    OrderKind,
    OrderStatus,
    ProviderOrder,
    RefundCheck,
)
from esim_tui.domain.plans import Plan, ProviderName, Quote, format_megabytes
from esim_tui.domain.text import clean
from esim_tui.providers.base import CatalogueCache, Provider, schedule
from esim_tui.providers.http import ProviderHttp, SecretHeaderAuth
from esim_tui.providers.parsing import decimal_value, provider_iccid, timestamp

log = logging.getLogger(__name__)

CATALOGUE_TTL = 3600.0  # "Frequent and consistent polling of services is not allowed": keep it an hour
#: eSIM Go documents no maximum; clients use 100 to 1000 (providers.md A.1). Paging follows pageCount.
CATALOGUE_PER_PAGE = 1000
MAX_CATALOGUE_PAGES = 50
ORDERS_PER_PAGE = 100
MAX_ORDER_PAGES = 5
#: How far before our intent's time a provider order may be dated (the two clocks differ a little).
CLOCK_SKEW = timedelta(minutes=5)
#: Top-up candidates checked for compatibility: the cheapest few, a few at a time (10 requests a second).
TOP_UP_CHECKS = 20
CHECKS_AT_ONCE = 3
ASSIGNMENTS_LIMIT = 50

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUNDLE_NAME = re.compile(r"[A-Za-z0-9_.+-]{1,120}")
_GLOBAL_CODES = {"RGBS", "GLOBAL", "RGLOBAL"}
_GLOBAL_LABELS = {"global", "world", "worldwide"}
_UNLIMITED_KINDS = {"UL": "Unlimited Lite", "ULE": "Unlimited Essential", "ULP": "Unlimited Plus"}
_ORDER_STATUS = {
    "completed": OrderStatus.DELIVERED,
    "complete": OrderStatus.DELIVERED,
    "processing": OrderStatus.PENDING,
    "pending": OrderStatus.PENDING,
    "failed": OrderStatus.FAILED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
}
# Both SM-DP+ platforms' vocabularies (providers.md A.6). "Released" after an install means removed.
_PROFILE_STATUS = {
    "released": InstallState.NOT_INSTALLED,
    "confirmed": InstallState.NOT_INSTALLED,
    "downloaded": InstallState.DOWNLOADED,
    "installed": InstallState.INSTALLED,
    "enabled": InstallState.INSTALLED,
    "disabled": InstallState.INSTALLED,
    "deleted": InstallState.REMOVED,
    "unavailable": InstallState.UNAVAILABLE,
    "deactivated": InstallState.UNAVAILABLE,
}
_UNSTARTED = (BundleState.PROCESSING, BundleState.QUEUED)
_ENDED = (BundleState.EXPIRED, BundleState.LAPSED, BundleState.REVOKED)
_NOT_REFUNDABLE = {
    BundleState.ACTIVE: "The customer has started using this bundle, so eSIM Go does not refund it.",
    BundleState.DEPLETED: "The customer has used all of this bundle's data, so eSIM Go does not refund it.",
    BundleState.EXPIRED: "This bundle has expired, so it can no longer be refunded.",
    BundleState.LAPSED: "This bundle lapsed without being used, so it can no longer be refunded.",
    BundleState.REVOKED: "This bundle was already revoked; nothing more can be refunded.",
}


class EsimGoHttp(ProviderHttp):
    """eSIM Go words every error as ``{"message": ...}``; the POST /orders ones may be plain text.

    Its limit is a window of tokens (10 a second), each endpoint costing some (the catalogue 5; the
    costs are not published but every answer tells its own in ``X-Ratelimit-Cost``). Beside the pacing,
    the adapter keeps the window's count from the ``X-Ratelimit-*`` headers and holds a request that
    would overdraw it until the window turns: the start's catalogue pages then never meet a 429."""

    REQUESTS_PER_SECOND = 8  # eSIM Go allows 10 a second, some endpoints costing more than one
    WINDOW_SECONDS = 1.0
    MARGIN_SECONDS = 0.05  # the provider's clock and ours differ a little

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._costs: dict[str, int] = {}  # tokens per path, as the provider last said
        self._limit: int | None = None  # tokens per window; None until an answer says
        self._remaining = 0
        self._window_ends = 0.0  # monotonic seconds
        self.wall: Callable[[], datetime] = lambda: datetime.now(UTC)  # to read X-Ratelimit-Reset against

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        wait = self._reserve_tokens(self._costs.get(path, 1))
        if wait > 0:
            await self.sleep(wait)
        response = await super().send(method, path, **kwargs)
        self._note_tokens(path, response)
        return response

    def _reserve_tokens(self, cost: int) -> float:
        """Seconds to wait until the window holds ``cost`` tokens, which are taken now. No await in
        here, so requests started together queue into later windows instead of all waiting for one."""
        if self._limit is None:
            return 0.0
        now = self.monotonic()
        if now >= self._window_ends:
            self._remaining, self._window_ends = self._limit, now + self.WINDOW_SECONDS
        if cost <= self._remaining:
            self._remaining -= cost
            return 0.0
        starts = self._window_ends + self.MARGIN_SECONDS
        self._remaining, self._window_ends = max(self._limit - cost, 0), starts + self.WINDOW_SECONDS
        return starts - now

    def _note_tokens(self, path: str, response: httpx.Response) -> None:
        headers = response.headers
        try:
            limit, remaining, cost = (int(headers[f"X-Ratelimit-{n}"]) for n in ("Limit", "Remaining", "Cost"))
            resets = datetime.fromisoformat(headers["X-Ratelimit-Reset"])  # "...Z": Python 3.11 reads it
        except (KeyError, ValueError):
            return  # no rate-limit headers (or unreadable ones): the pacing alone applies
        self._costs[path] = max(cost, 1)
        self._limit = max(limit, 1)
        in_seconds = min(max((resets - self.wall()).total_seconds(), 0.0), self.WINDOW_SECONDS)
        ends = self.monotonic() + in_seconds
        if abs(ends - self._window_ends) < self.WINDOW_SECONDS / 2:
            self._remaining = min(self._remaining, remaining)  # the same window: keep what others reserved
        elif ends > self._window_ends:
            self._remaining, self._window_ends = remaining, ends

    def check(self, response: httpx.Response, what: str = "such record") -> None:
        # 403 also means "the ICCID is not accessible by the user": a refusal, not a bad key.
        if response.status_code == 403 and "not accessible" in self.reason(response).lower():
            raise RequestRejected(self.provider, 403, self.reason(response))
        super().check(response, what)

    def rejected(self, response: httpx.Response) -> RequestRejected:
        reason = self.reason(response)
        if "insufficient" in reason.lower() and "balance" in reason.lower():
            return InsufficientBalance(self.provider, response.status_code, reason)
        return RequestRejected(self.provider, response.status_code, reason)

    async def unchanging(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request that changes nothing (``type=validate``): asked again when the provider says when
        (429/503 with Retry-After), within the read limits; the parsed answer."""
        for attempt in range(1, self.read_attempts + 1):
            response = await self.send(method, path, **kwargs)
            try:
                self.check(response)
            except RateLimited as exc:
                if attempt >= self.read_attempts or exc.retry_after_seconds > self.read_budget:
                    raise
                await self.sleep(exc.retry_after_seconds)
                continue
            return self.json(response)
        raise AssertionError("unreachable")


class EsimGo(Provider):
    """eSIM Go's orders are "usually instant but … up to 10 minutes" (A.3), so a processing order is
    followed for ten minutes; install and data follow the base schedules (data every 10 minutes)."""

    name = ProviderName.ESIMGO
    idempotent_orders = False  # no client reference: a second transaction is a second charge
    supports_top_up = True
    supports_refunds = True

    def __init__(
        self,
        base_url: str,
        key: SecretStr,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        **http_options: Any,
    ) -> None:
        self.http = EsimGoHttp(self.name.value, base_url, SecretHeaderAuth("X-API-Key", key), transport=transport, monotonic=monotonic, **http_options)
        self._catalogue = CatalogueCache(self._fetch_plans, monotonic, CATALOGUE_TTL)
        self._currency: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def fulfilment_delays(self) -> Iterator[float]:
        return schedule([(600.0, None)], first=5.0, factor=2.0, cap=30.0)

    # ------------------------------------------------------------ catalogue

    async def plans(self, *, refresh: bool = False) -> Sequence[Plan]:
        return await self._catalogue.get(refresh=refresh)

    async def _fetch_plans(self) -> tuple[Plan, ...]:
        currency = await self._organisation_currency()
        plans: dict[str, Plan] = {}
        seen: set[str] = set()
        page = 1
        longest = 0
        while True:
            body = await self.http.read_json("/catalogue", params={"page": page, "perPage": CATALOGUE_PER_PAGE}, what="catalogue")
            # The live API answers {bundles, pageCount, rows, pageSize}; the spec says a bare array (A.0 1).
            if isinstance(body, list):
                items, page_count = body, None
            elif isinstance(body, dict) and isinstance(body.get("bundles"), list):
                items, page_count = body["bundles"], body.get("pageCount")
            else:
                raise MalformedResponse(self.name, "the catalogue is not a list of bundles")
            names = {str(item.get("name")) for item in items if isinstance(item, dict)}
            for item in items:
                plan = self._plan(item, currency)
                if plan is not None and plan.plan_id not in plans:
                    plans[plan.plan_id] = plan
            longest = max(longest, len(items))
            if _is_count(page_count):
                if page >= page_count:
                    break
            elif not items or len(items) < longest or names <= seen:  # the last page, or "page" ignored
                break
            seen |= names
            page += 1
            if page > MAX_CATALOGUE_PAGES:
                log.warning("esimgo: catalogue longer than %d pages; the rest is left out", MAX_CATALOGUE_PAGES)
                break
        return tuple(plans.values())

    async def _organisation(self) -> dict[str, Any]:
        body = await self.http.read_json("/organisation", what="organisation")
        if not isinstance(body, dict):
            raise MalformedResponse(self.name, "the organisation is not an object")
        currency = body.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
            raise MalformedResponse(self.name, "the organisation has no currency code")
        self._currency = currency.strip().upper()
        return body

    async def _organisation_currency(self) -> str:
        """Prices are in the organisation's currency (A.0); it does not change, so it is asked once."""
        if self._currency is None:
            await self._organisation()
        assert self._currency is not None
        return self._currency

    def _plan(self, item: Any, currency: str) -> Plan | None:
        name = item.get("name") if isinstance(item, dict) else None
        try:
            if not isinstance(name, str) or not _BUNDLE_NAME.fullmatch(name):
                raise _Skip("no usable bundle name")
            isos = _isos(item.get("countries"))
            if not isos:
                raise _Skip("no countries")
            description = clean(item.get("description"), max_length=300)
            destination, label = _destination(name, description, isos)
            unlimited = item.get("unlimited") is True or item.get("dataAmount") == -1
            data_mb = None if unlimited else _whole(item.get("dataAmount"))
            days = _whole(item.get("duration"))
            price = decimal_value(item["price"])
            if (data_mb is not None and data_mb <= 0) or days <= 0 or price < 0:
                raise _Skip("no data, no days or a negative price")
            data = _unlimited_kind(name) if unlimited else format_megabytes(data_mb or 0)
            speeds = item.get("speed") if isinstance(item.get("speed"), list) else []
            autostart = item.get("autostart")
            return Plan(
                provider=self.name,
                plan_id=name,
                name=clean(f"{label} {data} / {formats.days(days)}", max_length=120),
                destination=destination,
                data_mb=data_mb,
                unlimited=unlimited,
                unlimited_kind=data if unlimited else None,
                validity_days=days,
                price=Money(amount=price, currency=currency),
                description=description,
                coverage=isos,
                roaming=tuple(iso for iso in _isos(item.get("roamingEnabled")) if iso not in isos),
                speeds=tuple(clean(s, max_length=10) for s in speeds if isinstance(s, str)),
                autostart=autostart if isinstance(autostart, bool) else None,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError, UnknownDestination) as exc:
            shown = clean(name, max_length=60) if isinstance(name, str) else "?"
            log.warning("esimgo: skipping bundle %r: %s", shown, exc if isinstance(exc, _Skip) else type(exc).__name__)
            return None

    # ------------------------------------------------------------ ordering

    async def quote(self, plan: Plan) -> Quote:
        """The ``validate`` order: the total eSIM Go would charge now, nothing charged."""
        try:
            answer = await self.http.unchanging("POST", "/orders", json=_order_body("validate", plan.plan_id))
        except RequestRejected as exc:  # the validate says it will not go (balance, bundle gone...)
            return Quote(plan_key=plan.key, total=plan.price, valid=False, note=exc.reason)
        try:
            total = Money(amount=decimal_value(answer["total"]), currency=answer.get("currency") or plan.price.currency)
            valid = answer.get("valid", True)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise MalformedResponse(self.name, "the validated order has no readable total") from None
        if valid is not True:
            return Quote(plan_key=plan.key, total=total, valid=False, note="eSIM Go says this order would not go through.")
        if total != plan.price:
            return Quote(plan_key=plan.key, total=total, valid=False, note=f"The price changed from {plan.price} to {total}; refresh the catalogue.")
        return Quote(plan_key=plan.key, total=total)

    async def place_order(self, plan: Plan, client_reference: str, *, iccid: str | None = None) -> ProviderOrder:
        """A ``transaction`` order of one bundle, assigned to a new eSIM or (``iccid``) onto that eSIM.
        ``client_reference`` stays ours: eSIM Go has nowhere to keep it."""
        if iccid is not None:
            iccid = _our_iccid(iccid)
        answer = await self.http.create("/orders", _order_body("transaction", plan.plan_id, iccid))
        # Charged by now: an answer we cannot read is an unknown outcome, never a refusal.
        try:
            return await self._with_esim(self._order_view(answer))
        except ProviderError as exc:
            raise OutcomeUnknown(self.name, exc) from None

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        body = await self.http.read_json(f"/orders/{_segment(provider_order_id)}", what="such order")
        return await self._with_esim(self._order_view(body))

    async def order_candidates(self, order: Order, *, lookback: timedelta | None = None) -> Sequence[ProviderOrder]:
        """The orders of the same bundle, quantity 1, placed since the intent (less the clock skew, or
        ``lookback``); for a top-up, onto the same ICCID when eSIM Go shows it."""
        since = _utc(order.created_at) - (lookback or CLOCK_SKEW)
        found: list[ProviderOrder] = []
        for data in await self._orders_since(since):
            lines = data.get("order")
            # Other kinds of order (balance top-ups, several bundles) are not ours: never read further.
            if not isinstance(lines, list) or len(lines) != 1 or not isinstance(lines[0], dict):
                continue
            line = lines[0]
            if line.get("item") != order.plan.plan_id or line.get("quantity") != 1 or data.get("assigned") is False:
                continue
            iccids = line.get("iccids") if isinstance(line.get("iccids"), list) else []
            if order.kind is OrderKind.TOP_UP and iccids and order.iccid not in iccids:
                continue
            view = self._order_view(data)
            if view.created_at is not None and view.created_at < since:
                continue  # the provider did not apply the filter
            found.append(await self._with_esim(view))
        return found

    async def find_order(self, order: Order) -> ProviderOrder | None:
        candidates = await self.order_candidates(order)
        if len(candidates) > 1:
            ids = ", ".join(c.provider_order_id for c in candidates)
            raise OutcomeUnknown(self.name, detail=f"{len(candidates)} orders could be this one: {ids}")
        return candidates[0] if candidates else None

    async def _orders_since(self, since: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        stamp = since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for page in range(1, MAX_ORDER_PAGES + 1):
            params = {"includeIccids": "true", "page": page, "limit": ORDERS_PER_PAGE, "createdAt": f"gte:{stamp}"}
            body = await self.http.read_json("/orders", params=params, what="order list")
            # {orders, rows} as clients read it; the spec shows a single order (A.0 deviation 5).
            if isinstance(body, dict) and isinstance(body.get("orders"), list):
                items, rows = body["orders"], body.get("rows")
            elif isinstance(body, list):
                items, rows = body, None
            elif isinstance(body, dict) and "orderReference" in body:
                items, rows = [body], 1
            else:
                raise MalformedResponse(self.name, "the order list is not a list")
            out.extend(i for i in items if isinstance(i, dict))
            if len(items) < ORDERS_PER_PAGE or (_is_count(rows) and len(out) >= rows):
                return out
        log.warning("esimgo: more than %d orders since %s; the oldest were not looked at", len(out), stamp)
        return out

    def _order_view(self, data: Any) -> _OrderView:
        if not isinstance(data, dict):
            raise MalformedResponse(self.name, "the order is not an object")
        reference = data.get("orderReference")
        if not isinstance(reference, str) or not reference.strip():
            raise MalformedResponse(self.name, "the order has no orderReference")
        status = _ORDER_STATUS.get(str(data.get("status", "")).strip().lower())
        if status is None:
            raise MalformedResponse(self.name, f"unexpected order status {clean(data.get('status'), max_length=40)!r}")
        lines = data.get("order")
        if not isinstance(lines, list) or not lines or not all(isinstance(line, dict) for line in lines):
            raise MalformedResponse(self.name, "the order has no bundles")
        try:
            charged = Money(amount=decimal_value(data["total"]), currency=data.get("currency") or self._currency or "USD")
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise MalformedResponse(self.name, "the order has no readable total") from None
        return _OrderView(
            data=data,
            reference=reference.strip(),
            status=status,
            lines=lines,
            charged=charged,
            created_at=_utc_or_none(timestamp(data.get("createdDate"))),
            esims=[e for line in lines for e in (line.get("esims") or []) if isinstance(e, dict)],
        )

    async def _with_esim(self, view: _OrderView) -> ProviderOrder:
        """The ProviderOrder; a completed order without eSIMs in the answer has them fetched as JSON
        (large orders leave them out). Until they can be read it stays PENDING."""
        status, esims = view.status, view.esims
        if status is OrderStatus.DELIVERED and not esims:
            try:
                esims = await self._install_details(view.reference)
            except ProviderError as exc:
                log.info("esimgo: install details of %s not readable yet (%s)", view.reference, type(exc).__name__)
            if not esims:
                status = OrderStatus.PENDING
        iccid = code = None
        if status is OrderStatus.DELIVERED:
            iccid, code = self._esim_code(esims[0])
        failure = None
        if status is OrderStatus.FAILED:
            reason = clean(view.data.get("statusMessage"), max_length=300) or "eSIM Go gave no reason."
            fixable = any(word in reason.lower() for word in ("unavailable", "not found", "no longer"))
            failure = Failure(code="ORDER_FAILED", reason=reason, is_user_fixable=fixable)
        return ProviderOrder(
            provider=self.name,
            provider_order_id=view.reference,
            status=status,
            failure=failure,
            iccid=iccid,
            activation_code=code,
            charged=view.charged,
            created_at=view.created_at,
            product_name=clean(view.item, max_length=120),
        )

    async def _install_details(self, reference: str) -> list[dict[str, Any]]:
        response = await self.http.read("/esims/assignments", params={"reference": reference}, what="such order", headers={"Accept": "application/json"})
        body = self.http.json(response)
        items = body if isinstance(body, list) else [body]
        if not all(isinstance(i, dict) for i in items):
            raise MalformedResponse(self.name, "install details are not objects")
        return items

    def _esim_code(self, esim: dict[str, Any]) -> tuple[str, str]:
        """ICCID and the LPA activation code ``LPA:1$<SM-DP+ without scheme>$<matching ID>``."""
        iccid = provider_iccid(esim.get("iccid"), self.name)
        if iccid is None:
            raise MalformedResponse(self.name, "the eSIM has no ICCID")
        smdp, matching = esim.get("smdpAddress"), esim.get("matchingId")
        if not isinstance(smdp, str) or not isinstance(matching, str) or not smdp.strip() or not matching.strip():
            raise MalformedResponse(self.name, "the eSIM has no SM-DP+ address or matching ID")
        try:
            return iccid, ActivationCode.from_parts(smdp, matching).lpa
        except InvalidActivationCode as exc:
            raise MalformedResponse(self.name, f"activation code: {exc.why}") from None

    # ------------------------------------------------------------ after the sale

    async def esim_status(self, order: Order) -> EsimStatus:
        """Install state from the eSIM, data from every bundle on it: two requests."""
        iccid = _order_iccid(order, self.name)
        esim, assignments = await asyncio.gather(
            self.http.read_json(f"/esims/{iccid}", what="such eSIM"),
            self._assignments(iccid),
        )
        bundles = [self._with_end(a, order) for a in assignments]
        if not isinstance(esim, dict):
            raise MalformedResponse(self.name, "the eSIM is not an object")
        installed_at = _install_time(esim.get("firstInstalledDateTime"))
        raw_state = str(esim.get("profileStatus") or "").strip().lower()
        install = _PROFILE_STATUS.get(raw_state)
        if install is None:
            log.warning("esimgo: unknown profileStatus %r", clean(esim.get("profileStatus"), max_length=40))
        elif install is InstallState.NOT_INSTALLED and raw_state == "released" and installed_at is not None:
            install = InstallState.REMOVED  # "Released" once installed: taken off the phone
        states = {b.state for b in bundles}
        ever_installed = installed_at is not None or install in (InstallState.INSTALLED, InstallState.REMOVED)
        if BundleState.ACTIVE in states or BundleState.DEPLETED in states:
            activation: ActivationStatus | None = ActivationStatus.ACTIVE  # depleted: out of data, still valid
        elif bundles and states <= set(_ENDED):
            activation = ActivationStatus.EXPIRED
        elif not ever_installed:
            activation = ActivationStatus.NOT_INSTALLED
        else:
            activation = None  # installed, bundle waiting for first use
        started = [b.started_at for b in bundles if b.started_at is not None]
        live = [b.ends_at for b in bundles if b.state in (BundleState.ACTIVE, BundleState.DEPLETED) and b.ends_at is not None]
        ended = [b.ends_at for b in bundles if b.ends_at is not None]
        return EsimStatus(
            iccid=iccid,
            install_state=install,
            activation_status=activation,
            installed_at=installed_at,
            activated_at=min(started) if started else None,
            expires_at=max(live) if live else (max(ended) if ended else None),
            bundles=tuple(bundles),
        )

    def _with_end(self, usage: BundleUsage, order: Order) -> BundleUsage:
        """endTime is a v2.5 field: without it, a started bundle ends its duration after its start."""
        if usage.ends_at is not None or usage.started_at is None:
            return usage
        days = self._duration(usage.bundle_name, order)
        return usage.model_copy(update={"ends_at": usage.started_at + timedelta(days=days)}) if days else usage

    def _duration(self, bundle_name: str, order: Order) -> int | None:
        plan = order.plan if order.plan.plan_id == bundle_name else self._cached_plan(bundle_name)
        return plan.validity_days if plan else None

    def _cached_plan(self, bundle_name: str) -> Plan | None:
        return next((p for p in self._catalogue.plans or () if p.plan_id == bundle_name), None)

    async def _assignments(self, iccid: str) -> list[BundleUsage]:
        """Every assignment of every bundle on the eSIM, oldest first (one request)."""
        params = {"includeUsed": "true", "limit": ASSIGNMENTS_LIMIT}
        body = await self.http.read_json(f"/esims/{iccid}/bundles", params=params, what="such eSIM")
        entries = body.get("bundles") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise MalformedResponse(self.name, "the eSIM's bundles are not a list")
        out: list[BundleUsage] = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("assignments"), list):
                raise MalformedResponse(self.name, "a bundle on the eSIM has no name or assignments")
            out.extend(a for raw in entry["assignments"] if (a := _assignment(entry["name"], raw)) is not None)
        # Oldest first; assignments of the same moment by their (increasing, numeric) ids.
        return sorted(out, key=lambda a: (a.assigned_at or _EPOCH, int(a.assignment_id) if a.assignment_id and a.assignment_id.isdigit() else 0))

    async def balance(self) -> Money | None:
        body = await self._organisation()
        try:
            return Money(amount=decimal_value(body["balance"]), currency=self._currency or "USD")
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise MalformedResponse(self.name, "the organisation has no readable balance") from None

    async def install_pack(self, order: Order) -> bytes | None:
        """The ZIP of QR PNGs plus a CSV of the ICCIDs, as the guide's step 2 downloads it."""
        if not order.provider_order_id:
            return None
        response = await self.http.read(
            "/esims/assignments", params={"reference": order.provider_order_id}, what="such order", headers={"Accept": "application/zip"}
        )
        content = response.content
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if archive.testzip() is not None:
                    raise zipfile.BadZipFile("a damaged member")
        except zipfile.BadZipFile:
            raise MalformedResponse(self.name, "the install pack is not a ZIP file") from None
        return content

    # ------------------------------------------------------------ top-ups

    async def top_up_plans(self, order: Order) -> Sequence[Plan]:
        """Bundles that cover every country of the order's plan, the cheapest ``TOP_UP_CHECKS`` of
        them checked with eSIM Go (only bundles of the eSIM's own operator profile fit)."""
        iccid = order.iccid
        if not iccid:
            raise NotOffered(self.name, "top-ups for an eSIM not delivered yet", "Wait until the order is delivered.")
        iccid = _our_iccid(iccid)
        wanted = set(order.plan.coverage)
        plans = await self.plans()
        if wanted:
            candidates = [p for p in plans if wanted <= set(p.coverage)]
        else:
            candidates = [p for p in plans if p.destination.key == order.plan.destination.key]
        candidates = sorted(candidates, key=lambda p: (p.price.amount, p.plan_id))[:TOP_UP_CHECKS]
        gate = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def fits(plan: Plan) -> bool:
            async with gate:
                try:
                    body = await self.http.read_json(f"/esims/{iccid}/compatible/{_segment(plan.plan_id)}", what="such bundle")
                except NotFound:
                    return False  # gone from the catalogue since it was loaded
            compatible = body.get("compatible") if isinstance(body, dict) else None
            if not isinstance(compatible, bool):
                raise MalformedResponse(self.name, "the compatibility answer is not true or false")
            return compatible

        answers = await asyncio.gather(*(fits(p) for p in candidates))
        return [p for p, ok in zip(candidates, answers, strict=True) if ok]

    # ------------------------------------------------------------ refunds

    async def check_refund(self, order: Order, bundle_name: str, *, assignment_id: str | None = None) -> RefundCheck:
        return await self._revoke(order, bundle_name, "validate", assignment_id)

    async def refund(self, order: Order, bundle_name: str, *, assignment_id: str | None = None) -> RefundCheck:
        return await self._revoke(order, bundle_name, "transaction", assignment_id)

    async def _revoke(self, order: Order, bundle_name: str, kind: str, assignment_id: str | None) -> RefundCheck:
        """Revoke one assignment of the bundle with a refund to balance: the one ``assignment_id``
        names, else this order's own assignment when the eSIM shows it, else the oldest unused one.
        A started or ended assignment is refused here, in the agent's words, without asking eSIM Go
        to change anything.

        The revoke names the assignment in its path (``.../assignments/{id}``): revoking by bundle name
        alone makes eSIM Go pick the oldest unused assignment of that name, which may be another
        order's. Without an id that is sent only when the target is that very assignment."""
        iccid = _order_iccid(order, self.name)
        mine = [a for a in await self._assignments(iccid) if a.bundle_name == bundle_name]
        named = clean(bundle_name, max_length=120)
        if not mine:
            return RefundCheck(bundle_name=bundle_name, refundable=False, reason=f"This eSIM has no bundle {named}.")
        unused = [a for a in mine if a.state in _UNSTARTED]
        if assignment_id is not None:
            target = next((a for a in mine if a.assignment_id == assignment_id), None)
            if target is None:
                return RefundCheck(bundle_name=bundle_name, refundable=False, reason=f"This eSIM no longer shows that {named} bundle; press r to ask eSIM Go again.")
        else:
            own = [a for a in mine if order.owns(a)]
            target = (own or unused or mine[-1:])[0]
        if target.state not in _UNSTARTED:
            return RefundCheck(bundle_name=bundle_name, refundable=False, reason=_NOT_REFUNDABLE.get(target.state, "This bundle cannot be refunded."))
        path = f"/esims/{iccid}/bundles/{_segment(bundle_name)}"
        if target.assignment_id:
            path += f"/assignments/{_segment(target.assignment_id)}"
        elif target is not unused[0]:
            return RefundCheck(
                bundle_name=bundle_name,
                refundable=False,
                reason=f"eSIM Go does not say which {named} bundle this is, and would refund another one of that name. Refund it in the eSIM Go portal.",
            )
        amount = self._price_of(order, bundle_name)
        params = {"type": kind, "refundToBalance": "true"}
        try:
            if kind == "validate":
                answer = await self.http.unchanging("DELETE", path, params=params)
            else:
                # Changes the balance: sent once, never retried blindly.
                response = await self.http.send("DELETE", path, params=params)
                self.http.check(response, "such bundle on this eSIM")
                answer = self.http.json(response)
        except RequestRejected as exc:
            return RefundCheck(bundle_name=bundle_name, refundable=False, amount=amount, reason=f"eSIM Go will not refund it: {exc.reason}")
        status = clean(answer.get("status") if isinstance(answer, dict) else None, max_length=300)
        if not status:
            raise MalformedResponse(self.name, "the revoke answer has no status")
        return RefundCheck(bundle_name=bundle_name, refundable=True, amount=amount, reason=status)

    def _price_of(self, order: Order, bundle_name: str) -> Money | None:
        if bundle_name == order.plan.plan_id:
            return order.price
        plan = self._cached_plan(bundle_name)
        return plan.price if plan else None


# ---------------------------------------------------------------- parsing


class _Skip(ValueError):
    """A catalogue item that is not a sellable plan; the reason is ours, safe to log."""


@dataclass(frozen=True, slots=True)
class _OrderView:
    """An order answer read once: what matching and mapping need."""

    data: dict[str, Any]
    reference: str
    status: OrderStatus
    lines: list[dict[str, Any]]
    charged: Money
    created_at: datetime | None
    esims: list[dict[str, Any]]

    @property
    def line(self) -> dict[str, Any]:
        return self.lines[0]

    @property
    def item(self) -> str:
        item = self.line.get("item")
        return item if isinstance(item, str) else ""


def _assignment(name: str, a: Any) -> BundleUsage | None:
    """One assignment of a bundle on an eSIM: its usage, and which one it is (for a precise revoke)."""
    if not isinstance(a, dict):
        return None
    try:
        state = BundleState(str(a.get("bundleState", "")).strip().lower())
    except ValueError:
        log.warning("esimgo: unknown bundleState %r on %s", clean(a.get("bundleState"), max_length=40), clean(name, max_length=60))
        return None
    unlimited = a.get("unlimited") is True
    initial, remaining = a.get("initialQuantity"), a.get("remainingQuantity")
    ident = a.get("id")
    reference = a.get("assignmentReference")
    return BundleUsage(
        bundle_name=name,
        state=state,
        initial_bytes=initial if _is_count(initial) and initial >= 0 and not unlimited else None,
        remaining_bytes=remaining if _is_count(remaining) and remaining >= 0 and not unlimited else None,
        unlimited=unlimited,
        assigned_at=_utc_or_none(timestamp(a.get("assignmentDateTime"))),
        started_at=_utc_or_none(timestamp(a.get("startTime"))),
        ends_at=_utc_or_none(timestamp(a.get("endTime"))),
        assignment_id=str(ident) if isinstance(ident, str) or _is_count(ident) else None,
        assignment_reference=clean(reference, max_length=200) if isinstance(reference, str) else "",
    )


def _order_body(kind: str, bundle: str, iccid: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "bundle", "quantity": 1, "item": bundle, "allowReassign": False}
    if iccid is not None:
        line["iccids"] = [iccid]  # a top-up; never reassigned to a new eSIM behind our back
    return {"type": kind, "assign": True, "order": [line]}


def _isos(value: Any) -> tuple[str, ...]:
    """ISO alpha-2 codes of a countries list ([{name, region, iso}]); anything else is none."""
    if not isinstance(value, list):
        return ()
    codes = {str(c.get("iso")).strip().upper() for c in value if isinstance(c, dict) and c.get("iso")}
    return tuple(sorted(c for c in codes if re.fullmatch(r"[A-Z]{2}", c)))


def _destination(name: str, description: str, isos: tuple[str, ...]) -> tuple[Destination, str]:
    """Where the bundle is sold, and the label its plan name starts with (see the module docstring)."""
    parts = name.split("_")
    area = parts[-2].upper() if len(parts) >= 4 else ""
    if len(isos) == 1 or area in isos:  # a country's bundle, perhaps with its neighbours as base countries
        country = destinations.country(isos[0] if len(isos) == 1 else area)
        if country.kind is not DestinationKind.COUNTRY:
            raise UnknownDestination(country.code)
        return country, country.name
    fields = [f.strip() for f in description.split(",")]
    label = ", ".join(fields[3:-1]) if len(fields) >= 5 else ""
    if area in _GLOBAL_CODES or label.casefold() in _GLOBAL_LABELS:
        return destinations.GLOBAL, destinations.GLOBAL.name
    region = (Region.from_code(area[1:]) if area.startswith("R") else None) or (Region.from_name(label) if label else None)
    if region is not None:
        return destinations.region(region), label or region.value  # "Latin America" stays eSIM Go's word
    counts: Counter[Region] = Counter()
    for iso in isos:
        try:
            found = destinations.country(iso).region
        except UnknownDestination:
            continue
        if found is not None:
            counts[found] += 1
    if not counts:
        raise UnknownDestination(",".join(isos[:5]))
    text = label or f"{len(isos)} countries"
    if len(counts) >= 3:
        return destinations.GLOBAL, text
    return destinations.region(counts.most_common(1)[0][0]), text


def _unlimited_kind(name: str) -> str:
    parts = name.split("_")
    return _UNLIMITED_KINDS.get(parts[1].upper() if len(parts) > 1 else "", "Unlimited")


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        raise _Skip("a count that is not a whole number")
    return int(value)


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment is not None else None


def _install_time(value: Any) -> datetime | None:
    """firstInstalledDateTime: epoch milliseconds on GET /esims/{iccid} (0 = never), a date-time
    string elsewhere (A.0 deviation 3)."""
    if _is_count(value):
        return _EPOCH + timedelta(milliseconds=value) if value > 0 else None
    return _utc_or_none(timestamp(value))


def _segment(value: str) -> str:
    """A value for one path segment, encoded (bundle names and references are the provider's)."""
    return quote(value, safe="")


def _our_iccid(iccid: str) -> str:
    try:
        return check_iccid(iccid).iccid
    except InvalidIccid:
        raise NotOffered(ProviderName.ESIMGO.value, f"top-ups onto {clean(iccid, max_length=30)!r}", "That is not an ICCID.") from None


def _order_iccid(order: Order, provider: str) -> str:
    if not order.iccid:
        raise MalformedResponse(provider, "the order has no ICCID yet")
    try:
        return check_iccid(order.iccid).iccid
    except InvalidIccid:
        raise MalformedResponse(provider, "the order's ICCID is not a number of 18 to 22 digits") from None
