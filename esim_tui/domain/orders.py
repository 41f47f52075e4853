"""Orders: what the provider says about one sale, and the shop's own record of it.

The record's rules are the shop's safety net: an activation code, once stored, is never replaced or
cleared by a later answer (Octopus Cards withholds it after install), and every change of state is
kept in the order's history.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from esim_tui.domain.codes import ActivationCode
from esim_tui.domain.errors import InvalidClientReference
from esim_tui.domain.money import Money
from esim_tui.domain.plans import Plan, ProviderName


class OrderStatus(StrEnum):
    UNKNOWN = "UNKNOWN"  # our own: the request is (or may be) out, no definite answer yet
    PENDING = "PENDING"  # the provider took the order and is still fulfilling it
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED)


class ActivationStatus(StrEnum):
    NOT_INSTALLED = "NOT_INSTALLED"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"


class InstallState(StrEnum):
    NOT_INSTALLED = "NOT_INSTALLED"  # released, waiting for the customer's phone
    DOWNLOADED = "DOWNLOADED"  # on its way to the phone
    INSTALLED = "INSTALLED"
    REMOVED = "REMOVED"  # was installed, then deleted from the phone
    UNAVAILABLE = "UNAVAILABLE"  # cannot be installed any more


class BundleState(StrEnum):
    """eSIM Go's bundle states, lowercase as on the wire."""

    PROCESSING = "processing"
    QUEUED = "queued"
    ACTIVE = "active"
    DEPLETED = "depleted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    LAPSED = "lapsed"


class OrderKind(StrEnum):
    SALE = "sale"  # a new eSIM
    TOP_UP = "top_up"  # a bundle added to an eSIM already sold (``Order.iccid`` is set from the start)


class RefundCheck(BaseModel):
    """What refunding (revoking) one bundle would give back, or why it cannot be refunded."""

    model_config = ConfigDict(frozen=True)

    bundle_name: str
    refundable: bool
    amount: Money | None = None  # what returns to the balance
    reason: str = ""  # why not, or the provider's note


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    reason: str
    is_user_fixable: bool = False


class BundleUsage(BaseModel):
    """Data on one bundle of an eSIM. Bytes are base-10, as providers count them."""

    model_config = ConfigDict(frozen=True)

    bundle_name: str
    state: BundleState
    initial_bytes: int | None = None
    remaining_bytes: int | None = None
    unlimited: bool = False
    assigned_at: datetime | None = None
    started_at: datetime | None = None
    ends_at: datetime | None = None
    # Which assignment of the bundle this is (eSIM Go may hold several of one name on an eSIM):
    # its id, and its reference "<provider order id>-<n>" naming the order that bought it.
    assignment_id: str | None = None
    assignment_reference: str = ""

    @property
    def used_bytes(self) -> int | None:
        if self.initial_bytes is None or self.remaining_bytes is None:
            return None
        return max(0, self.initial_bytes - self.remaining_bytes)


class EsimStatus(BaseModel):
    """The eSIM's life after delivery: installed or not, active or expired, data left."""

    model_config = ConfigDict(frozen=True)

    iccid: str | None = None
    install_state: InstallState | None = None
    activation_status: ActivationStatus | None = None
    installed_at: datetime | None = None
    activated_at: datetime | None = None
    expires_at: datetime | None = None
    bundles: tuple[BundleUsage, ...] = ()
    activation_code: str | None = None  # only while the provider still shows it


class ProviderOrder(BaseModel):
    """An order as the provider reports it, parsed by an adapter."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    provider_order_id: str
    client_reference: str | None = None
    status: OrderStatus
    failure: Failure | None = None
    iccid: str | None = None
    activation_code: str | None = None  # the LPA string, validated by the adapter
    charged: Money | None = None
    created_at: datetime | None = None
    esim: EsimStatus | None = None
    product_name: str = ""


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    event: str
    detail: str = ""


REFUNDED = "REFUNDED"  # the history event of a refund, noted on the order that bought the bundle


class Order(BaseModel):
    """The shop's record of one sale. Saved before anything in it is shown."""

    id: str
    provider: ProviderName
    client_reference: str
    kind: OrderKind = OrderKind.SALE
    linked_order_id: str | None = None  # the sale this one tops up, or follows for the same customer
    follow_ups: list[str] = Field(default_factory=list)  # ids of the top-ups and sales linked to this one
    plan: Plan
    price: Money  # what the shop is charged, as quoted or as the provider reports it
    customer_label: str = ""
    customer_email: str = ""
    status: OrderStatus = OrderStatus.UNKNOWN
    provider_order_id: str | None = None
    failure: Failure | None = None
    iccid: str | None = None
    activation_code: str | None = None
    install_state: InstallState | None = None
    activation_status: ActivationStatus | None = None
    installed_at: datetime | None = None
    activated_at: datetime | None = None
    expires_at: datetime | None = None
    bundles: tuple[BundleUsage, ...] = ()
    created_at: datetime
    updated_at: datetime
    shown_at: datetime | None = None  # when the activation code was first put on screen
    needs_attention: str | None = None
    history: list[StatusChange] = Field(default_factory=list)

    @property
    def activation(self) -> ActivationCode | None:
        return ActivationCode.parse(self.activation_code) if self.activation_code else None

    @property
    def is_installed(self) -> bool:
        return self.install_state in (InstallState.INSTALLED, InstallState.REMOVED)

    def owns(self, bundle: BundleUsage) -> bool:
        """True when this order bought ``bundle`` (its assignment reference names this order)."""
        return bool(self.provider_order_id) and bundle.assignment_reference.startswith(f"{self.provider_order_id}-")

    @property
    def own_bundles(self) -> tuple[BundleUsage, ...]:
        """The bundles this order bought, among every bundle on its eSIM (a sale and its top-ups share
        one eSIM); all of them when the provider does not say which order bought which."""
        return tuple(b for b in self.bundles if self.owns(b)) or self.bundles

    @property
    def refunded(self) -> bool:
        """Its bundle was refunded (revoked, its price back on the provider balance)."""
        return any(change.event == REFUNDED for change in self.history)

    def note(self, at: datetime, event: str, detail: str = "") -> None:
        self.history.append(StatusChange(at=at, event=event, detail=detail))
        self.updated_at = at

    def merge(self, answer: ProviderOrder, at: datetime) -> Order:
        """Take in what the provider now says, keeping every rule of the record. Returns a new Order."""
        new = self.model_copy(deep=True)
        if new.provider_order_id is None:
            new.provider_order_id = answer.provider_order_id
        if answer.status != new.status:
            detail = answer.failure.reason if answer.failure else ""
            new.status = answer.status
            new.note(at, answer.status.value, detail)
        if answer.failure is not None:
            new.failure = answer.failure
        if answer.charged is not None:
            new.price = answer.charged
        if answer.iccid and new.iccid and answer.iccid != new.iccid:
            if not new._noted("ICCID MISMATCH", answer.iccid):  # once, not at every poll that repeats it
                new.needs_attention = f"The provider now reports ICCID {answer.iccid}, not {new.iccid}."
                new.note(at, "ICCID MISMATCH", answer.iccid)
        elif answer.iccid:
            new.iccid = answer.iccid
        new._take_code(answer.activation_code, at)
        if answer.esim is not None:
            new = new.merge_esim(answer.esim, at)
        return new

    def merge_esim(self, esim: EsimStatus, at: datetime) -> Order:
        new = self.model_copy(deep=True)
        if esim.iccid and not new.iccid:
            new.iccid = esim.iccid
        new._take_code(esim.activation_code, at)
        for name in ("install_state", "activation_status"):
            value = getattr(esim, name)
            if value is not None and value != getattr(new, name):
                setattr(new, name, value)
                new.note(at, value.value)
        for name in ("installed_at", "activated_at", "expires_at"):
            if getattr(esim, name) is not None:
                setattr(new, name, getattr(esim, name))
        if esim.bundles:
            # Each assignment by its own key: an eSIM may hold several bundles of one name, and keyed
            # by name alone one of them would be noted again at every poll.
            before = dict(zip(_bundle_keys(new.bundles), (b.state for b in new.bundles), strict=True))
            for key, b in zip(_bundle_keys(esim.bundles), esim.bundles, strict=True):
                if before.get(key) != b.state:
                    new.note(at, f"bundle {b.state.value}", b.bundle_name)
            new.bundles = esim.bundles
        new.updated_at = at
        return new

    def _take_code(self, code: str | None, at: datetime) -> None:
        # The one-time code: keep the first one we were given, whatever later answers say.
        if not code:
            return
        if self.activation_code is None:
            self.activation_code = code
            self.note(at, "ACTIVATION CODE RECEIVED")
        elif code != self.activation_code and not self._noted("ACTIVATION CODE DIFFERS"):  # once, not at every poll
            self.needs_attention = "The provider sent a different activation code; the first one is kept."
            self.note(at, "ACTIVATION CODE DIFFERS", "kept the first one")

    def _noted(self, event: str, detail: str | None = None) -> bool:
        return any(c.event == event and (detail is None or c.detail == detail) for c in self.history)


def _bundle_keys(bundles: tuple[BundleUsage, ...]) -> list[tuple[str, str]]:
    """Which assignment each bundle is: its id or reference where the provider gives one, else its name
    and how many of that name came before it."""
    seen: dict[str, int] = {}
    keys = []
    for b in bundles:
        n = seen[b.bundle_name] = seen.get(b.bundle_name, 0) + 1
        keys.append((b.bundle_name, b.assignment_id or b.assignment_reference or f"#{n}"))
    return keys


# ---------------------------------------------------------------- client references

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def new_client_reference(at: datetime, prefix: str = "ESIM") -> str:
    """A fresh reference for one sale: letters, digits and '-' only, e.g. ``ESIM-20261122-7F3K9Q2M``."""
    token = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{at:%Y%m%d}-{token}"


def check_client_reference(value: str) -> str:
    """The provider's rule: printable ASCII, 1 to 255 characters. Returns the value unchanged."""
    if not isinstance(value, str) or not value:
        raise InvalidClientReference("it is empty")
    if len(value) > 255:
        raise InvalidClientReference(f"it is {len(value)} characters long; at most 255 are allowed")
    if not (value.isascii() and value.isprintable()):
        raise InvalidClientReference("only printable ASCII characters are allowed (no tabs, newlines or accents)")
    return value
