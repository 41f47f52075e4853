"""The simulated eSIM Go API v2.4 (providers.md section A; eSIM Go's "Order your first eSIM" guide).

What a client relies on, and what this simulator therefore keeps exactly:

* Everything lives under ``/v2.4``; every request needs ``X-API-Key`` (403 ``{"message"}`` otherwise,
  the key never echoed). Errors of every endpoint use ``{"message": ...}``, as the live API does
  (the spec's text/plain for POST /orders errors is not followed).
* ``GET /catalogue`` answers the live object form ``{"bundles", "pageCount", "rows", "pageSize"}``
  (A.0 deviation 1); ``dataAmount`` is MB, assignment quantities are bytes (base 10).
* ``POST /orders``: ``validate`` charges nothing; ``transaction`` debits the organisation once for the
  total (ledger order_id = orderReference; eSIM Go has no idempotency key). ICCIDs are top-ups onto
  existing eSIMs when compatible (same operator profile, see esimgo_catalogue); an incompatible one
  gets a new eSIM with ``allowReassign`` and is refused without it. ``assign: false`` buys into
  inventory: charged, no eSIM.
* ``smdpAddress`` carries an ``http://`` scheme, as every example in the spec does; the LPA string
  (QR codes, appleInstallUrl) never does.
* Bundle states follow simulated time: processing (none by default: queued at once; 5-90 simulated
  seconds in the "realistic" scenario; or ``bundle_processing_seconds``) -> queued -> active on first
  data use (validity runs from then) -> depleted / expired; revoked by DELETE; lapsed when never used
  for 365 days. Refunds to balance only while unstarted and within 60 days of purchase, each
  assignment once (a revoked one is refused): the ledger shows each refund as its own entry.
* Scenarios and the create_order faults "pending" / "fail": a pending transaction is charged and
  answers ``status: "processing"`` with no eSIMs (install details answer 503 with Retry-After) until
  its simulated time has passed; then it completes, or fails and is refunded. A failing one is a 400
  ``{"message"}`` that charges nothing, as eSIM Go refuses orders. "slow" answers 3 s late.
* Rate limits (``config.rate_limits``): a fixed one-second window of 10 tokens per client IP on a
  monotonic wall clock; the catalogue costs 5 tokens, everything else 1; ``X-Ratelimit-*`` headers on
  every answer and 429 ``{"message": "Rate limit exceeded"}`` with ``Retry-After: 1``.
"""

from __future__ import annotations

import asyncio
import csv
import fnmatch
import hmac
import io
import math
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from operator import attrgetter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from esim_tui import jsonnum
from esim_tui.domain.codes import ActivationCode, mint_iccid
from esim_tui.sandbox.core import Handler, JSONResponse, SandboxState, SimulatedProvider
from esim_tui.sandbox.esimgo_catalogue import Catalogue, CatalogueBundle, build_catalogue
from esim_tui.sandbox.faults import Fault, FaultKind
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.persist import StateUnreadable, dump_record, load_record, when

API = "/v2.4"
SMDP_ADDRESS = "http://rsp.sandbox.esim-go.example"
ICCID_ISSUER = "8944"

RATE_LIMIT_TOKENS = 10
RATE_WINDOW_SECONDS = 1.0
#: Tokens per call; eSIM Go does not publish its costs (providers.md F), the catalogue is the dear one.
ENDPOINT_COSTS = {"catalogue": 5}

LAPSE_AFTER = timedelta(days=365)  # "inactive after no activity for 12 months"
REFUND_WINDOW = timedelta(days=60)  # "permitted refund period, typically 60 days"
PENDING_SECONDS = 60.0  # a "pending" order completes after this much simulated time unless told otherwise
SLOW_ANSWER_SECONDS = 3.0
MAX_QUANTITY = 1000
DEFAULT_PER_PAGE = 50
DEFAULT_ORDERS_LIMIT = 10
MAX_ORDERS_LIMIT = 1000
DEFAULT_BUNDLES_LIMIT = 15
MAX_BUNDLES_LIMIT = 200
CATALOGUE_ORDER_BY = {
    "name": lambda b: b.name,
    "description": lambda b: b.description,
    "price": lambda b: b.price,
    "dataAmount": lambda b: -1 if b.data_mb is None else b.data_mb,
    "duration": lambda b: b.duration_days,
}
CSV_COLUMNS = ["ICCID", "Matching ID", "RSP URL", "Bundle", "Reference"]
UNAVAILABLE = "Bundle is currently unavailable, please try again later"

_FIRST_ASSIGNMENT_ID = 215009266
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHANUMERIC = _LETTERS + "0123456789"
_UTILISATION_ALERTS = (50, 80, 100)  # percent used; eSIM Go also alerts at 1 %, left out as noise

# Bundle states, lowercase as on the wire.
PROCESSING, QUEUED, ACTIVE, DEPLETED, EXPIRED, REVOKED, LAPSED = (
    "processing", "queued", "active", "depleted", "expired", "revoked", "lapsed",
)


class _Refused(Exception):
    """A request the provider turns away: status and message of the error answer."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def rfc3339(moment: datetime) -> str:
    """UTC, Go's RFC3339Nano as eSIM Go writes it: 2023-04-07T00:50:31.61878Z (no trailing zeros)."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def epoch_ms(moment: datetime) -> int:
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)


# ---------------------------------------------------------------- rate limiting


class RateLimiter:
    """eSIM Go's limit: a fixed window of ``limit`` tokens per client IP, each call costing tokens.

    ``monotonic`` measures the window (wall-clock time, never the simulated clock: a client really has
    to wait); ``wall`` only dates the reset for the ``X-Ratelimit-Reset`` header. Both injectable.
    """

    def __init__(
        self,
        limit: int = RATE_LIMIT_TOKENS,
        window_seconds: float = RATE_WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.monotonic = monotonic
        self.wall = wall
        self._windows: dict[str, tuple[float, int]] = {}  # client -> (window start, tokens used)
        self._lock = threading.Lock()

    def take(self, client: str, cost: int) -> tuple[bool, dict[str, str]]:
        """Spend ``cost`` tokens for ``client`` if the window has them; the answer's headers either way."""
        with self._lock:
            now = self.monotonic()
            start, used = self._windows.get(client, (now, 0))
            if now >= start + self.window_seconds:
                start, used = now, 0
            allowed = used + cost <= self.limit
            if allowed:
                used += cost
            self._windows[client] = (start, used)
            if len(self._windows) > 4096:  # forget finished windows of long-gone clients
                self._windows = {k: v for k, v in self._windows.items() if now < v[0] + self.window_seconds}
            reset_in = max(0.0, start + self.window_seconds - now)
        reset = self.wall().astimezone(UTC) + timedelta(seconds=reset_in)
        headers = {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.limit - used),
            "X-Ratelimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "X-Ratelimit-Cost": str(cost),
        }
        return allowed, headers


# ---------------------------------------------------------------- the simulated world


@dataclass(eq=False)  # mutable records: compared by identity
class _Assignment:
    id: str
    bundle: CatalogueBundle
    reference: str  # "<orderReference>-<n>"
    order_reference: str
    price: Decimal  # what this one unit cost (refunded on an unstarted revoke)
    assigned_at: datetime
    ready_at: datetime  # processing until then
    remaining_bytes: int  # -1 for unlimited bundles
    started_at: datetime | None = None
    revoked_at: datetime | None = None
    alerts_sent: set[int] = field(default_factory=set)

    @property
    def initial_bytes(self) -> int:
        return -1 if self.bundle.data_bytes is None else self.bundle.data_bytes

    @property
    def ends_at(self) -> datetime | None:
        return None if self.started_at is None else self.started_at + timedelta(days=self.bundle.duration_days)

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return REVOKED
        if self.started_at is None:
            if now >= self.assigned_at + LAPSE_AFTER:
                return LAPSED
            return PROCESSING if now < self.ready_at else QUEUED
        if now >= self.started_at + timedelta(days=self.bundle.duration_days):
            return EXPIRED
        if not self.bundle.unlimited and self.remaining_bytes <= 0:
            return DEPLETED
        return ACTIVE


@dataclass(eq=False)
class _Esim:
    iccid: str
    matching_id: str
    pin: str
    puk: str
    profile_name: str  # operator profile: only bundles of the same profile can top it up
    created_at: datetime
    branding_id: str | None = None
    customer_ref: str = ""
    installed_at: datetime | None = None
    first_used_at: datetime | None = None
    assignments: list[_Assignment] = field(default_factory=list)
    history: list[tuple[str, str, datetime]] = field(default_factory=list)  # (event, bundle name, when)

    @property
    def activation(self) -> ActivationCode:
        return ActivationCode.from_parts(SMDP_ADDRESS, self.matching_id)


@dataclass(eq=False)
class _Line:
    bundle: CatalogueBundle
    quantity: int
    allow_reassign: bool
    targets: list[str | None]  # per unit: the eSIM to top up, or None for a new eSIM
    iccids: list[str] = field(default_factory=list)  # per unit, once fulfilled

    @property
    def sub_total(self) -> Decimal:
        return self.bundle.price * self.quantity


@dataclass(eq=False)
class _Order:
    reference: str
    created_at: datetime
    lines: list[_Line]
    total: Decimal
    currency: str
    assigned: bool
    source_ip: str
    branding_id: str | None = None
    status: str = "completed"  # completed | processing | failed
    ready_at: datetime | None = None  # a processing order completes at the first look after this
    resolve_failure: str | None = None  # a processing order that will fail instead
    failure: str | None = None
    processing_seconds: float = 0.0  # how long its bundles stay "processing" once assigned

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def status_message(self) -> str:
        if self.status == "failed":
            return f"Order failed: {self.failure}"
        if self.status == "processing":
            return "Order processing"
        if not self.assigned:
            return "Order completed"
        return f"Order completed: {self.units} eSIMs assigned"


@dataclass(frozen=True)
class _Outcome:
    """What fulfilment does with one transaction: a scenario's or a booked fault's choice."""

    kind: str = "complete"  # complete | pending | fail
    pending_seconds: float = 0.0
    failure: str | None = None  # the 400 message ("fail"), or the later failure ("pending")
    processing_seconds: float = 0.0  # bundles stay "processing" this long after assignment
    answer_delay: float = 0.0  # real seconds before the (already committed) answer leaves


def _scenario_outcome(scenario: str, rng) -> _Outcome:
    if scenario == "realistic":
        # "usually instant but … up to 10 minutes": mostly seconds of processing, now and then an
        # order eSIM Go finishes later, refuses, or answers slowly.
        roll = rng.random()
        if roll < 0.85:
            return _Outcome(processing_seconds=float(rng.randint(5, 90)))
        if roll < 0.93:
            return _Outcome("pending", pending_seconds=float(rng.randint(20, 120)))
        if roll < 0.97:
            return _Outcome("fail", failure=UNAVAILABLE)
        return _Outcome(answer_delay=rng.uniform(2.0, 4.0))
    if scenario == "pending":
        return _Outcome("pending", pending_seconds=PENDING_SECONDS)
    if scenario == "failing":
        return _Outcome("fail", failure=UNAVAILABLE)
    if scenario == "slow":
        return _Outcome(answer_delay=SLOW_ANSWER_SECONDS)
    return _Outcome()


def _fault_outcome(fault: Fault) -> _Outcome:
    """A booked "pending" fault (completes after ``seconds``; fails then with ``failure_reason`` when one
    is given) or "fail" fault (400 with ``failure_reason``, nothing charged)."""
    reason = fault.params.get("failure_reason")
    failure = str(reason) if reason else UNAVAILABLE
    if fault.kind is FaultKind.PENDING:
        seconds = max(0.0, float(fault.params.get("seconds", PENDING_SECONDS)))
        fails = reason is not None or "failure_code" in fault.params
        return _Outcome("pending", pending_seconds=seconds, failure=failure if fails else None)
    return _Outcome("fail", failure=failure)


async def _answer_later(seconds: float) -> None:
    """Hold an answer back (real time). A seam so tests can watch slow answers without waiting."""
    await asyncio.sleep(seconds)


def _bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise _Refused(400, f"{name} must be true or false")


def _int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not text.isdigit() or len(text) > 9:
        raise _Refused(400, f"{name} must be a whole number")
    value = int(text)
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _Refused(400, f"{name} must be {span}")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_OPERATORS = ("eq", "lt", "lte", "gt", "gte")


def _time_filter(raw: str) -> Callable[[datetime], bool]:
    """``createdAt=gte:2026-11-22T00:00:00.000Z`` (operators eq, lt, lte, gt, gte; bare value = eq)."""
    op, sep, value = raw.partition(":")
    if not sep or op not in _OPERATORS:
        op, value = "eq", raw
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Refused(400, f"createdAt: {raw!r} is not <operator>:<ISO 8601 date-time>, e.g. gte:2026-11-22T00:00:00.000Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return {
        "eq": lambda t: t == moment,
        "lt": lambda t: t < moment,
        "lte": lambda t: t <= moment,
        "gt": lambda t: t > moment,
        "gte": lambda t: t >= moment,
    }[op]


def _accepted_format(accept: str) -> str | None:
    """csv, json or zip from an Accept header, first acceptable type first; CSV when unsaid."""
    if not accept.strip():
        return "csv"
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "application/zip":
            return "zip"
        if media == "application/json":
            return "json"
        if media in ("text/csv", "text/*", "*/*"):
            return "csv"
    return None


class EsimGoSim(SimulatedProvider):
    name = "esimgo"

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self.catalogue: Catalogue = build_catalogue(state.config.seed)
        self.rate_limiter = RateLimiter()
        #: Simulated seconds a new assignment stays "processing"; None leaves it to the scenario
        #: (0 by default, a few seconds to a minute and a half in "realistic"). A seam for drills and tests.
        self.bundle_processing_seconds: float | None = None
        # Handlers share one event loop, but the control hooks and tests may reach in from another
        # thread (a served sandbox runs in its own): every read-modify-write holds this lock, never
        # across an await.
        self._lock = threading.RLock()
        self._esims: dict[str, _Esim] = {}
        self._orders: dict[str, _Order] = {}
        self._pending: list[_Order] = []
        self._inventory: dict[str, int] = {}  # bundle name -> units bought with assign: false (or refunded to it)
        self._next_assignment_id = _FIRST_ASSIGNMENT_ID
        self._bundle_json: dict[tuple[str, bool], dict[str, Any]] = {}
        self._api_routes = self._build_routes()

    # ------------------------------------------------------------ routes, auth, limits

    def _build_routes(self) -> list[Route]:
        e = self._endpoint
        return [
            Route(f"{API}/catalogue", e("catalogue", self._catalogue), methods=["GET"]),
            Route(f"{API}/catalogue/bundle/{{name}}", e("catalogue_bundle", self._catalogue_bundle), methods=["GET"]),
            Route(f"{API}/orders", e("create_order", self._create_order), methods=["POST"]),
            Route(f"{API}/orders", e("list_orders", self._list_orders), methods=["GET"]),
            Route(f"{API}/orders/{{reference}}", e("get_order", self._get_order), methods=["GET"]),
            Route(f"{API}/esims/assignments", e("assignments", self._assignments), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}", e("get_esim", self._get_esim), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles", e("esim_bundles", self._esim_bundles), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles/{{name}}", e("esim_bundle", self._esim_bundle), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/bundles/{{name}}", e("revoke_bundle", self._revoke), methods=["DELETE"]),
            Route(
                f"{API}/esims/{{iccid}}/bundles/{{name}}/assignments/{{assignment_id}}",
                e("revoke_assignment", self._revoke),
                methods=["DELETE"],
            ),
            Route(f"{API}/esims/{{iccid}}/compatible/{{bundle}}", e("compatible", self._compatible), methods=["GET"]),
            Route(f"{API}/esims/{{iccid}}/history", e("esim_history", self._history), methods=["GET"]),
            Route(f"{API}/organisation", e("organisation", self._organisation), methods=["GET"]),
        ]

    def routes(self) -> list[BaseRoute]:
        # The catch-all keeps unknown API paths in eSIM Go's envelope (Starlette's own 404/405 are plain text).
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [*self._api_routes, Route(f"{API}/{{rest:path}}", self._guarded(self._no_route, 1), methods=methods)]

    def error(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"message": message}, status_code=status, headers=headers)

    def _endpoint(self, name: str, handler: Handler) -> Handler:
        """Rate limit, then auth, then the shared faults around the handler; _Refused becomes an error."""

        async def refusing(request: Request) -> Response:
            try:
                return await handler(request)
            except _Refused as exc:
                return self.error(exc.status, exc.message, headers=exc.headers)

        return self._guarded(self.faulty(name, refusing), ENDPOINT_COSTS.get(name, 1))

    def _guarded(self, handler: Handler, cost: int) -> Handler:
        async def guarded(request: Request) -> Response:
            headers: dict[str, str] = {}
            if self.state.config.rate_limits:
                client = request.client.host if request.client else "unknown"
                allowed, headers = self.rate_limiter.take(client, cost)
                if not allowed:
                    return self.error(429, "Rate limit exceeded", headers={**headers, "Retry-After": "1"})
            response = self._deny(request) or await handler(request)
            for key, value in headers.items():
                response.headers[key] = value
            return response

        return guarded

    def _deny(self, request: Request) -> Response | None:
        """The 403 answer unless the request carries the organisation's API key (never echoed)."""
        key = request.headers.get("x-api-key", "")
        expected = self.state.config.esimgo_key
        if not key:
            return self.error(403, "Unauthorised: send your API key in the X-API-Key header")
        if not hmac.compare_digest(key.encode("utf-8", "replace"), expected.encode("utf-8")):
            return self.error(403, "Unauthorised: the API key is not valid")
        return None

    async def _no_route(self, request: Request) -> Response:
        if any(route.matches(request.scope)[0] is Match.PARTIAL for route in self._api_routes):
            return self.error(405, f"{request.method} is not allowed here")
        return self.error(404, "Not found")

    # ------------------------------------------------------------ shared look-ups

    def _bundle(self, name: str) -> CatalogueBundle:
        bundle = self.catalogue.get(name)
        if bundle is None:
            raise _Refused(404, f"Bundle {name} not found (bundle names are case sensitive)")
        return bundle

    def _esim(self, iccid: str) -> _Esim:
        esim = self._esims.get(iccid)
        if esim is None:
            # The spec's 403: "the ICCID is not accessible by the user".
            raise _Refused(403, f"eSIM {iccid} is not accessible by your organisation")
        return esim

    def _settle(self) -> None:
        """Processing orders whose time has come complete (or fail) now: the first look after it."""
        now = self.now
        for order in [o for o in self._pending if o.ready_at is not None and now >= o.ready_at]:
            self._pending.remove(order)
            self.state.touch()
            if order.resolve_failure is not None:
                order.status, order.failure = "failed", order.resolve_failure
                self.account.refund(order.reference, order.total)
            else:
                self._fulfil(order, order.ready_at or now)

    def _bundle_dict(self, bundle: CatalogueBundle, groups: bool = True) -> dict[str, Any]:
        key = (bundle.name, groups)
        if key not in self._bundle_json:
            self._bundle_json[key] = bundle.to_json(groups=groups)
        return self._bundle_json[key]

    # ------------------------------------------------------------ catalogue

    async def _catalogue(self, request: Request) -> Response:
        q = request.query_params
        page = _int_param(request, "page", 1, 1)
        per_page = _int_param(request, "perPage", DEFAULT_PER_PAGE, 1)
        direction = (q.get("direction") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise _Refused(400, "direction must be asc or desc")
        order_by = q.get("orderBy") or "name"
        if order_by not in CATALOGUE_ORDER_BY:
            raise _Refused(400, f"orderBy must be one of {', '.join(CATALOGUE_ORDER_BY)}")

        bundles: list[CatalogueBundle] = list(self.catalogue.bundles)
        if description := (q.get("description") or "").strip():
            wanted = description.casefold()
            if "*" in wanted or "%" in wanted or "?" in wanted:
                pattern = wanted.replace("%", "*")
                bundles = [b for b in bundles if fnmatch.fnmatchcase(b.description.casefold(), pattern)]
            else:
                bundles = [b for b in bundles if wanted in b.description.casefold()]
        if group := q.get("group"):
            bundles = [b for b in bundles if b.group == group.strip()]
        if countries := q.get("countries"):
            isos = {c.strip().upper() for c in countries.split(",") if c.strip()}
            bundles = [b for b in bundles if b.isos & isos]
        if region := (q.get("region") or "").strip():
            wanted_region = region.casefold()
            bundles = [b for b in bundles if any(c.region.casefold() == wanted_region for c in b.countries)]

        key = CATALOGUE_ORDER_BY[order_by]
        bundles.sort(key=lambda b: b.name)  # ties keep name order, whichever the direction
        bundles.sort(key=key, reverse=direction == "desc")
        rows = len(bundles)
        chosen = bundles[(page - 1) * per_page : page * per_page]
        return JSONResponse(
            {
                "bundles": [self._bundle_dict(b) for b in chosen],
                "pageCount": math.ceil(rows / per_page),
                "rows": rows,
                "pageSize": per_page,
            }
        )

    async def _catalogue_bundle(self, request: Request) -> Response:
        bundle = self._bundle(request.path_params["name"])
        return JSONResponse(self._bundle_dict(bundle, groups=False))

    # ------------------------------------------------------------ orders

    async def _create_order(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = jsonnum.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise _Refused(400, 'Send a JSON object like {"type": "validate", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}')
        source_ip = request.client.host if request.client else ""
        with self._lock:
            self._settle()
            kind, assign, branding, lines = self._parse_order(body)
            total = sum((line.sub_total for line in lines), Decimal(0))
            now = self.now
            if total > self.account.balance:
                raise _Refused(400, f"Insufficient balance: the order costs {total} {self.account.currency}, the organisation balance is {self.account.balance} {self.account.currency}")
            if kind == "validate":
                return JSONResponse(
                    {
                        "order": [self._line_json(line, esims=False) for line in lines],
                        "total": total,
                        "valid": True,
                        "currency": self.account.currency,
                        "createdDate": rfc3339(now),
                        "assigned": assign,
                    }
                )
            # A booked fault wins over the scenario; taken only now, so a refused request keeps it.
            fault = self.state.faults.take(self.name, "create_order", {FaultKind.PENDING, FaultKind.FAIL})
            outcome = _fault_outcome(fault) if fault else _scenario_outcome(self.state.config.scenario, self.state.rng)
            if outcome.kind == "fail":
                raise _Refused(400, outcome.failure or UNAVAILABLE)
            order = _Order(
                reference=str(uuid.UUID(int=self.state.rng.getrandbits(128), version=4)),
                created_at=now,
                lines=lines,
                total=total,
                currency=self.account.currency,
                assigned=assign,
                source_ip=source_ip,
                branding_id=branding,
                processing_seconds=outcome.processing_seconds if self.bundle_processing_seconds is None else self.bundle_processing_seconds,
            )
            self._orders[order.reference] = order
            self.state.touch()
            self.account.charge(order.reference, total)
            if outcome.kind == "pending":
                order.status = "processing"
                order.ready_at = now + timedelta(seconds=outcome.pending_seconds)
                order.resolve_failure = outcome.failure
                self._pending.append(order)
            else:
                self._fulfil(order, now)
            answer = self._order_json(order, esims=True)
        if outcome.answer_delay > 0:
            # Committed and charged already; only the answer is late (a slow upstream).
            self.state.changed()
            await _answer_later(outcome.answer_delay)
        return JSONResponse(answer)

    def _parse_order(self, body: dict[str, Any]) -> tuple[str, bool, str | None, list[_Line]]:
        """Check an OrderRequest by eSIM Go's rules (providers.md A.3); nothing changes here."""
        kind = body.get("type")
        if kind not in ("validate", "transaction"):
            raise _Refused(400, "type must be validate or transaction")
        assign = body.get("assign", False)
        if not isinstance(assign, bool):
            raise _Refused(400, "assign must be true or false")
        branding = body.get("profileID")
        if branding is not None:
            if not isinstance(branding, str) or not branding.strip():
                raise _Refused(400, "profileID must be a branding profile ID (a string)")
            if not assign:
                raise _Refused(400, "profileID can only be given when assign is true")
        items = body.get("order")
        if not isinstance(items, list) or not items:
            raise _Refused(400, "order must be a non-empty list of bundles")
        lines: list[_Line] = []
        for n, item in enumerate(items, start=1):
            where = f"order item {n}"
            if not isinstance(item, dict):
                raise _Refused(400, f"{where} must be an object")
            if item.get("type", "bundle") != "bundle":
                raise _Refused(400, f"{where}: type must be bundle")
            name = item.get("item")
            if not isinstance(name, str) or not name:
                raise _Refused(400, f"{where}: item must be a bundle name")
            bundle = self.catalogue.get(name)
            if bundle is None:
                raise _Refused(400, f"{where}: bundle {name} not found (bundle names are case sensitive)")
            quantity = item.get("quantity")
            if not _is_count(quantity) or not 1 <= quantity <= MAX_QUANTITY:
                raise _Refused(400, f"{where}: quantity must be a whole number from 1 to {MAX_QUANTITY}")
            allow_reassign = item.get("allowReassign", False)
            if not isinstance(allow_reassign, bool):
                raise _Refused(400, f"{where}: allowReassign must be true or false")
            iccids = item.get("iccids")
            # The guide's example body carries "iccids": [""] for "a new eSIM": empty means none.
            if isinstance(iccids, list):
                iccids = [i for i in iccids if not (isinstance(i, str) and not i.strip())] or None
            targets: list[str | None] = [None] * quantity
            if iccids is not None:
                if not assign:
                    raise _Refused(400, f"{where}: ICCIDs can only be given when assign is true")
                if not isinstance(iccids, list) or not all(isinstance(i, str) for i in iccids):
                    raise _Refused(400, f"{where}: iccids must be a list of ICCIDs")
                if len(iccids) != quantity:
                    raise _Refused(400, f"{where}: quantity ({quantity}) must equal the number of ICCIDs ({len(iccids)})")
                targets = []
                for iccid in (i.strip() for i in iccids):
                    esim = self._esims.get(iccid)
                    if esim is None:
                        raise _Refused(400, f"{where}: eSIM {iccid} is not accessible by your organisation")
                    if esim.profile_name == bundle.profile_name:
                        targets.append(iccid)
                    elif allow_reassign:
                        targets.append(None)  # a new eSIM instead, as the rules say
                    else:
                        raise _Refused(400, f"{where}: bundle {name} is not compatible with eSIM {iccid}; set allowReassign to true to assign it to a new eSIM")
            lines.append(_Line(bundle, quantity, allow_reassign, targets))
        return kind, assign, branding, lines

    def _fulfil(self, order: _Order, at: datetime) -> None:
        """Assign every unit: top-ups onto their eSIMs, the rest onto new eSIMs; or into inventory."""
        order.status, order.ready_at = "completed", None
        if not order.assigned:
            for line in order.lines:
                self._inventory[line.bundle.name] = self._inventory.get(line.bundle.name, 0) + line.quantity
            return
        n = 0
        for line in order.lines:
            for target in line.targets:
                esim = self._esims[target] if target is not None else self._new_esim(line.bundle, at, order.branding_id)
                assignment = _Assignment(
                    id=str(self._next_assignment_id),
                    bundle=line.bundle,
                    reference=f"{order.reference}-{n}",
                    order_reference=order.reference,
                    price=line.bundle.price,
                    assigned_at=at,
                    ready_at=at + timedelta(seconds=order.processing_seconds),
                    remaining_bytes=-1 if line.bundle.data_bytes is None else line.bundle.data_bytes,
                )
                self._next_assignment_id += 1
                n += 1
                esim.assignments.append(assignment)
                esim.history.append(("Bundle Applied", line.bundle.name, at))
                line.iccids.append(esim.iccid)

    def _new_esim(self, bundle: CatalogueBundle, at: datetime, branding: str | None) -> _Esim:
        rng = self.state.rng
        iccid = mint_iccid(rng, ICCID_ISSUER)
        while iccid in self._esims:
            iccid = mint_iccid(rng, ICCID_ISSUER)
        # Shaped like the spec's JQ-123456-ABCDEPFX: letters, digits, then letters and digits.
        matching_id = "-".join(
            (
                "".join(rng.choice(_LETTERS) for _ in range(2)),
                "".join(rng.choice("0123456789") for _ in range(6)),
                "".join(rng.choice(_ALPHANUMERIC) for _ in range(8)),
            )
        )
        esim = _Esim(
            iccid=iccid,
            matching_id=matching_id,
            pin="".join(rng.choice("0123456789") for _ in range(4)),
            puk="".join(rng.choice("0123456789") for _ in range(8)),
            profile_name=bundle.profile_name,
            created_at=at,
            branding_id=branding,
        )
        self._esims[iccid] = esim
        return esim

    def _line_json(self, line: _Line, *, esims: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if esims:
            out["esims"] = [
                {"iccid": i, "matchingId": self._esims[i].matching_id, "smdpAddress": SMDP_ADDRESS} for i in line.iccids
            ]
        out.update({"type": "bundle", "item": line.bundle.name})
        if esims:
            out["iccids"] = list(line.iccids)
        out.update(
            {
                "quantity": line.quantity,
                "subTotal": line.sub_total,
                "pricePerUnit": line.bundle.price,
                "AllowReassign": line.allow_reassign,  # capitalised in answers (A.0 deviation 4)
            }
        )
        return out

    def _order_json(self, order: _Order, *, esims: bool) -> dict[str, Any]:
        return {
            "order": [self._line_json(line, esims=esims) for line in order.lines],
            "total": order.total,
            "currency": order.currency,
            "status": order.status,
            "statusMessage": order.status_message,
            "orderReference": order.reference,
            "createdDate": rfc3339(order.created_at),
            "assigned": order.assigned,
            "sourceIP": order.source_ip,
        }

    async def _list_orders(self, request: Request) -> Response:
        include = _bool_param(request, "includeIccids", False)
        page = _int_param(request, "page", 1, 1)
        limit = _int_param(request, "limit", DEFAULT_ORDERS_LIMIT, 1, MAX_ORDERS_LIMIT)
        filters = [_time_filter(v) for v in request.query_params.getlist("createdAt") if v.strip()]
        with self._lock:
            self._settle()
            # Newest first; orders placed at the same moment keep their order of placing, newest first.
            orders = list(reversed(self._orders.values()))
            orders.sort(key=lambda o: o.created_at, reverse=True)
            orders = [o for o in orders if all(f(o.created_at) for f in filters)]
            chosen = orders[(page - 1) * limit : page * limit]
            body = {"orders": [self._order_json(o, esims=include) for o in chosen], "rows": len(orders)}
        return JSONResponse(body)

    def _order(self, reference: str) -> _Order:
        order = self._orders.get(reference)
        if order is None:
            raise _Refused(404, f"Order {reference} not found")
        return order

    async def _get_order(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            body = self._order_json(self._order(request.path_params["reference"]), esims=True)
        return JSONResponse(body)

    # ------------------------------------------------------------ install details

    async def _assignments(self, request: Request) -> Response:
        raw = request.query_params.get("reference", "")
        references = [r.strip() for r in raw.split(",") if r.strip()]
        if not references:
            raise _Refused(400, "reference is required: one or more order references, comma-separated")
        fmt = _accepted_format(request.headers.get("accept", ""))
        if fmt is None:
            raise _Refused(400, "Accept must be text/csv, application/json or application/zip")
        extras = {f.strip() for f in request.query_params.get("additionalFields", "").split(",")}
        apple = bool(extras & {"appleInstallUrl", "installUrl"})
        with self._lock:
            self._settle()
            rows: list[tuple[_Esim, str, str]] = []  # (eSIM, bundle name, order reference)
            seen: set[tuple[str, str, str]] = set()
            for reference in references:
                order = self._order(reference)
                if order.status == "processing":
                    wait = max(1, math.ceil(((order.ready_at or self.now) - self.now).total_seconds()))
                    raise _Refused(503, "Processing - Please come back later", {"Retry-After": str(wait)})
                for line in order.lines:
                    for iccid in line.iccids:
                        if (iccid, line.bundle.name, reference) not in seen:
                            seen.add((iccid, line.bundle.name, reference))
                            rows.append((self._esims[iccid], line.bundle.name, reference))
            if fmt == "json":
                unique = list({esim.iccid: esim for esim, _, _ in rows}.values())
                details = [self._install_json(esim, apple) for esim in unique]
                return JSONResponse(details[0] if len(details) == 1 else details)
            table = self._csv(rows, apple)
            if fmt == "csv":
                return Response(table, media_type="text/csv; charset=utf-8")
            archive = self._zip(rows, table)
        name = references[0] if len(references) == 1 else "esims"
        return Response(archive, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})

    def _install_json(self, esim: _Esim, apple: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iccid": esim.iccid,
            "matchingId": esim.matching_id,
            "smdpAddress": SMDP_ADDRESS,
            "profileStatus": "Installed" if esim.installed_at else "Released",
            "pin": esim.pin,
            "puk": esim.puk,
        }
        if esim.installed_at is not None:
            # A date-time string here, epoch milliseconds on GET /esims/{iccid} (A.0 deviation 3).
            out["firstInstalledDateTime"] = rfc3339(esim.installed_at)
        if apple:
            out["appleInstallUrl"] = esim.activation.apple_install_url
        return out

    @staticmethod
    def _csv(rows: list[tuple[_Esim, str, str]], apple: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(CSV_COLUMNS + (["Apple Install URL"] if apple else []))
        for esim, bundle, reference in rows:
            writer.writerow([esim.iccid, esim.matching_id, SMDP_ADDRESS, bundle, reference] + ([esim.activation.apple_install_url] if apple else []))
        return buffer.getvalue()

    @staticmethod
    def _zip(rows: list[tuple[_Esim, str, str]], table: str) -> bytes:
        """One PNG QR code per eSIM (``<iccid>.png``, carrying the LPA string) and ``esims.csv``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            seen: set[str] = set()
            for esim, _, _ in rows:
                if esim.iccid in seen:
                    continue
                seen.add(esim.iccid)
                png = io.BytesIO()
                segno.make(esim.activation.lpa, error="m", micro=False).save(png, kind="png", scale=8, border=4)
                archive.writestr(f"{esim.iccid}.png", png.getvalue())
            archive.writestr("esims.csv", table)
        return buffer.getvalue()

    # ------------------------------------------------------------ eSIMs and their bundles

    async def _get_esim(self, request: Request) -> Response:
        extras = {f.strip() for f in request.query_params.get("additionalFields", "").split(",")}
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            out: dict[str, Any] = {
                "iccid": esim.iccid,
                "pin": esim.pin,
                "puk": esim.puk,
                "matchingId": esim.matching_id,
                "smdpAddress": SMDP_ADDRESS,
                "profileStatus": "Installed" if esim.installed_at else "Released",
                # Epoch milliseconds here (A.0 deviation 3); 0 while never installed.
                "firstInstalledDateTime": epoch_ms(esim.installed_at) if esim.installed_at else 0,
                "customerRef": esim.customer_ref,
            }
            if extras & {"appleInstallUrl", "installUrl"}:
                out["appleInstallUrl"] = esim.activation.apple_install_url
        return JSONResponse(out)

    def _assignment_json(self, a: _Assignment, now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": a.id,
            "callTypeGroup": "data",
            "initialQuantity": a.initial_bytes,
            "remainingQuantity": a.remaining_bytes,
            "assignmentDateTime": rfc3339(a.assigned_at),
            "assignmentReference": a.reference,
            "bundleState": a.state(now),
            "unlimited": a.bundle.unlimited,
        }
        if a.started_at is not None:
            # v2.5 fields, sent once the validity has started (it runs from first use).
            out["startTime"] = rfc3339(a.started_at)
            out["endTime"] = rfc3339(a.ends_at or a.started_at)
        return out

    async def _esim_bundles(self, request: Request) -> Response:
        include_used = _bool_param(request, "includeUsed", True)
        limit = _int_param(request, "limit", DEFAULT_BUNDLES_LIMIT, 1, MAX_BUNDLES_LIMIT)
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            chosen = [a for a in esim.assignments if include_used or a.state(now) not in (EXPIRED, REVOKED, LAPSED, DEPLETED)]
            chosen = list(reversed(chosen))[:limit]  # the most recent assignments
            grouped: dict[str, dict[str, Any]] = {}
            for a in chosen:
                entry = grouped.setdefault(a.bundle.name, {"name": a.bundle.name, "description": a.bundle.description, "assignments": []})
                entry["assignments"].append(self._assignment_json(a, now))
        return JSONResponse({"bundles": list(grouped.values())})

    async def _esim_bundle(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            mine = [a for a in esim.assignments if a.bundle.name == name]
            if not mine:
                raise _Refused(404, f"Bundle {name} is not assigned to eSIM {esim.iccid} (bundle names are case sensitive)")
            # "If multiple of the same bundle are applied … the latest assignment will be returned."
            body = {"assignments": [self._assignment_json(mine[-1], self.now)]}
        return JSONResponse(body)

    async def _compatible(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            bundle = self._bundle(request.path_params["bundle"])
            return JSONResponse({"compatible": bundle.profile_name == esim.profile_name})

    async def _history(self, request: Request) -> Response:
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            events = list(esim.history)
            # Time-driven events happen whenever time passes; they are written down when looked at.
            for a in esim.assignments:
                state = a.state(now)
                if state == EXPIRED and a.ends_at is not None:
                    events.append(("Bundle Expired", a.bundle.name, a.ends_at))
                elif state == LAPSED:
                    events.append(("Bundle Lapsed", a.bundle.name, a.assigned_at + LAPSE_AFTER))
            events.sort(key=lambda e: e[2])  # stable: same-moment events keep the order they happened in
            body = [{"name": name, "bundleName": bundle, "date": rfc3339(when)} for name, bundle, when in events]
        return JSONResponse(body)

    async def _revoke(self, request: Request) -> Response:
        """Revoke the assignment the path names (``.../assignments/{id}``), or by bundle name alone the
        oldest unused assignment of that name (else the latest started one), as eSIM Go documents it:
        ``offerId`` does not choose the assignment. Refund it to balance or inventory while unstarted.
        ``type=validate`` only says what would happen."""
        kind = (request.query_params.get("type") or "transaction").strip()
        if kind not in ("validate", "transaction"):
            raise _Refused(400, "type must be validate or transaction")
        to_balance = _bool_param(request, "refundToBalance", False)
        name = request.path_params["name"]
        wanted_id = request.path_params.get("assignment_id")
        with self._lock:
            self._settle()
            esim = self._esim(request.path_params["iccid"])
            now = self.now
            mine = [a for a in esim.assignments if a.bundle.name == name]
            if not mine:
                raise _Refused(404, f"Bundle {name} is not assigned to eSIM {esim.iccid} (bundle names are case sensitive)")
            if wanted_id:
                target = next((a for a in mine if a.id == wanted_id), None)
                if target is None:
                    raise _Refused(404, f"Assignment {wanted_id} of bundle {name} not found on eSIM {esim.iccid}")
            else:
                unused = [a for a in mine if a.state(now) in (PROCESSING, QUEUED)]
                started = [a for a in mine if a.state(now) in (ACTIVE, DEPLETED)]
                target = unused[0] if unused else (started[-1] if started else None)
                if target is None:
                    raise _Refused(400, f"No assignment of bundle {name} on eSIM {esim.iccid} can be revoked: each one has expired, lapsed or been revoked")
            state = target.state(now)
            if state in (EXPIRED, LAPSED, REVOKED):
                raise _Refused(400, f"Assignment {target.id} of bundle {name} cannot be revoked: it has {state}" if state != REVOKED else f"Assignment {target.id} of bundle {name} is already revoked")
            unstarted = state in (PROCESSING, QUEUED)
            if to_balance and not unstarted:
                raise _Refused(400, f"Bundle {name} has been started, so it cannot be refunded; revoke it with refundToBalance=false to remove it without a refund")
            if to_balance and now - target.assigned_at > REFUND_WINDOW:
                raise _Refused(400, f"Bundle {name} was bought more than {REFUND_WINDOW.days} days ago, outside the refund period; revoke it with refundToBalance=false")
            currency = self.account.currency
            if kind == "validate":
                if to_balance:
                    what = f"refunded to balance ({target.price} {currency})"
                elif unstarted:
                    what = "refunded to inventory"
                else:
                    what = "revoked without a refund, as it has been started"
                return JSONResponse({"status": f"Validation successful: assignment {target.id} of bundle {name} would be {what}"})
            target.revoked_at = now
            self.state.touch()
            esim.history.append(("Bundle Revoked", name, now))
            if to_balance:
                # A refund entry of its own on the ledger; the ledger too refuses a unit refunded twice.
                self.account.refund(target.order_reference, target.price, bundle=name, unit=f"assignment {target.id}")
                esim.history.append(("Bundle Refunded To Balance", name, now))
                status = "Successfully Revoked Bundle, bundle has been refunded to balance"
            elif unstarted:
                self._inventory[name] = self._inventory.get(name, 0) + 1
                esim.history.append(("Bundle Refunded to Inventory", name, now))
                status = "Successfully Revoked Bundle, bundle has been refunded to inventory"
            else:
                status = "Successfully Revoked Bundle, bundle has not been refunded as it has been started"
        return JSONResponse({"status": status})

    # ------------------------------------------------------------ organisation

    async def _organisation(self, request: Request) -> Response:
        return JSONResponse(
            {
                "name": "Sandbox Travel Shop",
                "taxLiable": "No",
                "addr1": "1 Harbour Street",
                "addr2": "",
                "city": "Bristol",
                "country": "United Kingdom",
                "postcode": "BS1 4AA",
                "callbackUrl": "",
                "notes": "eSIM Go simulator (esim-tui sandbox)",
                "groups": ["Standard eSIM Bundles"],
                "currency": self.account.currency,
                "balance": self.account.balance,
                "testCredit": Decimal("0.00"),
                "testCreditExpiry": (self.now + timedelta(days=30)).date().isoformat(),
                "businessType": "Travel agency",
                "website": "https://shop.sandbox.esim-go.example",
                "productDescription": "Travel eSIMs sold at the counter",
                "users": [
                    {
                        "firstName": "Counter",
                        "lastName": "Agent",
                        "role": "Admin",
                        "emailAddress": "agent@shop.sandbox.esim-go.example",
                        "phoneNumber": "+44 117 496 0000",
                        "timeZone": "Europe/London",
                    }
                ],
            }
        )

    # ------------------------------------------------------------ control hooks

    def knows(self, iccid: str) -> bool:
        with self._lock:
            self._settle()
            return iccid in self._esims

    def install(self, iccid: str) -> dict[str, Any]:
        with self._lock:
            esim = self._esims[iccid]
            self.state.touch()
            if esim.installed_at is None:
                esim.installed_at = self.now
            return {"iccid": iccid, "profileStatus": "Installed", "firstInstalledDateTime": epoch_ms(esim.installed_at)}

    def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        """The phone uses data: from the active bundle, else the oldest queued one (which starts now);
        what one bundle cannot hold spills into the next. A phone using data has the eSIM installed."""
        with self._lock:
            self._settle()
            esim = self._esims[iccid]
            self.state.touch()
            now = self.now
            if esim.installed_at is None:
                esim.installed_at = now
            left = used_bytes
            current = self._current(esim, now)
            while left > 0 and current is not None:
                if current.started_at is None:
                    current.started_at = now
                    if esim.first_used_at is None:
                        esim.first_used_at = now
                        esim.history.append(("eSIM First Attachment", current.bundle.name, now))
                        esim.history.append(("eSIM First Use", current.bundle.name, now))
                if current.bundle.unlimited:
                    left = 0
                    break
                take = min(left, current.remaining_bytes)
                current.remaining_bytes -= take
                left -= take
                self._alert(esim, current, now)
                nxt = self._current(esim, now)
                if nxt is None or nxt is current:
                    break
                current = nxt
            shown = current if current is not None else (esim.assignments[-1] if esim.assignments else None)
            return {
                "iccid": iccid,
                "bundle": shown.bundle.name if shown else None,
                "bundle_state": shown.state(now) if shown else None,
                "remaining_bytes": shown.remaining_bytes if shown else None,
                "unused_bytes": left,  # data the eSIM had no bundle for
            }

    # ------------------------------------------------------------ the state file

    def dump(self) -> dict[str, Any]:
        """Orders, eSIMs with their bundles and history, inventory and the balance, for the state file.
        Bundles are written by name; the catalogue itself comes from the seed."""
        name = attrgetter("name")
        with self._lock:
            return {
                "account": self.account.dump(),
                "next_assignment_id": self._next_assignment_id,
                "inventory": dict(self._inventory),
                "orders": [dump_record(o, lines=lambda ls: [dump_record(line, bundle=name) for line in ls]) for o in self._orders.values()],
                "pending": [o.reference for o in self._pending],
                "esims": [dump_record(e, assignments=lambda a_s: [dump_record(a, bundle=name) for a in a_s]) for e in self._esims.values()],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Take back what ``dump`` wrote; bundles are looked up in this sandbox's catalogue."""

        def bundle(name: Any) -> CatalogueBundle:
            found = self.catalogue.get(name) if isinstance(name, str) else None
            if found is None:
                raise StateUnreadable(f"eSIM Go bundle {name!r} is not in the catalogue")
            return found

        def lines(items: Any) -> list[_Line]:
            return [load_record(_Line, item, bundle=bundle) for item in items]

        def assignments(items: Any) -> list[_Assignment]:
            return [load_record(_Assignment, item, bundle=bundle) for item in items]

        def history(items: Any) -> list[tuple[str, str, datetime]]:
            return [(str(event), str(bundle_name), when(at)) for event, bundle_name, at in items]

        orders = {o.reference: o for o in (load_record(_Order, item, lines=lines) for item in data["orders"])}
        esims = {e.iccid: e for e in (load_record(_Esim, item, assignments=assignments, history=history) for item in data["esims"])}
        for order in orders.values():
            for line in order.lines:
                if any(iccid not in esims for iccid in line.iccids):
                    raise StateUnreadable(f"order {order.reference} names an eSIM the state does not hold")
        with self._lock:
            self.account = Account.load(data["account"])
            self._next_assignment_id = int(data["next_assignment_id"])
            self._inventory = {str(k): int(v) for k, v in data["inventory"].items()}
            self._orders = orders
            self._pending = [orders[reference] for reference in data["pending"]]
            self._esims = esims

    @staticmethod
    def _current(esim: _Esim, now: datetime) -> _Assignment | None:
        """The assignment data goes to: the active one, else the oldest queued (or processing) one."""
        live = [a for a in esim.assignments if a.state(now) == ACTIVE]
        if live:
            return min(live, key=lambda a: a.started_at or now)
        waiting = [a for a in esim.assignments if a.state(now) in (QUEUED, PROCESSING)]
        return waiting[0] if waiting else None

    @staticmethod
    def _alert(esim: _Esim, a: _Assignment, now: datetime) -> None:
        initial = a.initial_bytes
        if initial <= 0:
            return
        used_percent = (initial - a.remaining_bytes) * 100 // initial
        for threshold in _UTILISATION_ALERTS:
            if used_percent >= threshold and threshold not in a.alerts_sent:
                a.alerts_sent.add(threshold)
                esim.history.append(("eSIM Utilisation Alert", a.bundle.name, now))
