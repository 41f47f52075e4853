"""The simulated world of eSIM Go: its numbers, its eSIMs, their bundle assignments and its orders, and how a
transaction turns out (a scenario's or a booked fault's choice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from esim_tui.domain.codes import ActivationCode
from esim_tui.sandbox.core import (
    Outcome,
)
from esim_tui.sandbox.esimgo_catalogue import (
    CatalogueBundle,
)
from esim_tui.sandbox.faults import Fault, FaultKind

API = "/v2.4"
SMDP_ADDRESS = "http://rsp.sandbox.esim-go.example"
ICCID_ISSUER = "8944"
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
FIRST_ASSIGNMENT_ID = 215009266
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALPHANUMERIC = LETTERS + "0123456789"
UTILISATION_ALERTS = (50, 80, 100)  # percent used; eSIM Go also alerts at 1 %, left out as noise
PROCESSING, QUEUED, ACTIVE, DEPLETED, EXPIRED, REVOKED, LAPSED = (
    "processing", "queued", "active", "depleted", "expired", "revoked", "lapsed",
)
_OPERATORS = ("eq", "lt", "lte", "gt", "gte")


def rfc3339(moment: datetime) -> str:
    """UTC, Go's RFC3339Nano as eSIM Go writes it: 2023-04-07T00:50:31.61878Z (no trailing zeros)."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def epoch_ms(moment: datetime) -> int:
    return (moment.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)


@dataclass(eq=False)  # mutable records: compared by identity
class Assignment:
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
class Esim:
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
    assignments: list[Assignment] = field(default_factory=list)
    history: list[tuple[str, str, datetime]] = field(default_factory=list)  # (event, bundle name, when)

    @property
    def activation(self) -> ActivationCode:
        return ActivationCode.from_parts(SMDP_ADDRESS, self.matching_id)


@dataclass(eq=False)
class OrderLine:
    bundle: CatalogueBundle
    quantity: int
    allow_reassign: bool
    targets: list[str | None]  # per unit: the eSIM to top up, or None for a new eSIM
    iccids: list[str] = field(default_factory=list)  # per unit, once fulfilled

    @property
    def sub_total(self) -> Decimal:
        return self.bundle.price * self.quantity


@dataclass(eq=False)
class SimOrder:
    reference: str
    created_at: datetime
    lines: list[OrderLine]
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


def scenario_outcome(scenario: str, rng) -> Outcome:
    if scenario == "realistic":
        # "usually instant but … up to 10 minutes": mostly seconds of processing, now and then an
        # order eSIM Go finishes later, refuses, or answers slowly.
        roll = rng.random()
        if roll < 0.85:
            return Outcome(processing_seconds=float(rng.randint(5, 90)))
        if roll < 0.93:
            return Outcome("pending", pending_seconds=float(rng.randint(20, 120)))
        if roll < 0.97:
            return Outcome("fail", failure=UNAVAILABLE)
        return Outcome(answer_delay=rng.uniform(2.0, 4.0))
    if scenario == "pending":
        return Outcome("pending", pending_seconds=PENDING_SECONDS)
    if scenario == "failing":
        return Outcome("fail", failure=UNAVAILABLE)
    if scenario == "slow":
        return Outcome(answer_delay=SLOW_ANSWER_SECONDS)
    return Outcome()


def fault_outcome(fault: Fault) -> Outcome:
    """A booked "pending" fault (completes after ``seconds``; fails then with ``failure_reason`` when one
    is given) or "fail" fault (400 with ``failure_reason``, nothing charged)."""
    reason = fault.params.get("failure_reason")
    failure = str(reason) if reason else UNAVAILABLE
    if fault.kind is FaultKind.PENDING:
        seconds = max(0.0, float(fault.params.get("seconds", PENDING_SECONDS)))
        fails = reason is not None or "failure_code" in fault.params
        return Outcome("pending", pending_seconds=seconds, failure=failure if fails else None)
    return Outcome("fail", failure=failure)

