"""How orders and plans read, in the counter's words (shared by the screens and `esim-tui orders`)."""

from __future__ import annotations

from datetime import UTC, datetime

from esim_tui.domain import formats
from esim_tui.domain.codes import iccid_tail
from esim_tui.domain.orders import ActivationStatus, BundleState, Order, OrderKind, OrderStatus
from esim_tui.domain.plans import Plan, format_bytes

BAR_WIDTH = 10


def activation_words(order: Order) -> str:
    """The activation status in words. Providers say NOT_INSTALLED until first use, even once the
    eSIM is on the phone: that reads as "not active yet" there."""
    status = order.activation_status
    if status is None:
        return "—"
    if status is ActivationStatus.NOT_INSTALLED and order.is_installed:
        return "not active yet (no data used)"
    return status.value.replace("_", " ").lower()


def past_validity(order: Order, now: datetime | None) -> bool:
    """A delivered eSIM whose validity has run out at ``now``, whatever its last reported bundle says
    (providers stop reporting, and the desk stops asking, once a bundle is out of data)."""
    if now is None or order.expires_at is None or order.status is not OrderStatus.DELIVERED:
        return False
    expires = order.expires_at.replace(tzinfo=UTC) if order.expires_at.tzinfo is None else order.expires_at
    return expires <= now


def order_state(order: Order, now: datetime | None = None) -> str:
    """One phrase for where the order is in its life at ``now`` (without it: as if its validity had
    not run out)."""
    if order.needs_attention:
        return "Needs attention"
    if order.status is OrderStatus.UNKNOWN:
        return "Checking…"
    if order.status is OrderStatus.PENDING:
        return "Being prepared"
    if order.status is OrderStatus.FAILED:
        return "Failed"
    if order.status is OrderStatus.CANCELLED:
        return "Cancelled"
    if order.refunded:
        return "Refunded"
    if order.activation_status is ActivationStatus.EXPIRED or past_validity(order, now):
        return "Expired"  # before "Out of data": an eSIM past its validity is over, data or not
    # Its own bundle on the eSIM (a sale and its top-ups share one eSIM, each bought its own bundle).
    states = {b.state for b in order.own_bundles}
    live = {BundleState.ACTIVE, BundleState.QUEUED, BundleState.PROCESSING}
    if BundleState.DEPLETED in states and not states & live:
        return "Out of data"
    if states and not states & live:
        return "Expired"  # every bundle has ended (expired, lapsed or revoked)
    if BundleState.ACTIVE in states or (not states and order.activation_status is ActivationStatus.ACTIVE):
        return "Active"
    if order.is_installed:
        return "Installed"
    return "Delivered, not installed"


def data_left(order: Order) -> str:
    """A text bar of data left on the order's own bundle, or why there is none to show."""
    if order.refunded:
        return "—"
    own = order.own_bundles
    bundle = next((b for b in own if b.state in (BundleState.ACTIVE, BundleState.QUEUED, BundleState.DEPLETED)), None)
    bundle = bundle or (own[0] if own else None)
    if bundle is None:
        return "—" if order.status is not OrderStatus.DELIVERED else "not reported"
    if bundle.unlimited:
        return "unlimited"
    if not bundle.initial_bytes or bundle.remaining_bytes is None:
        return "—"
    share = max(0.0, min(1.0, bundle.remaining_bytes / bundle.initial_bytes))
    filled = round(share * BAR_WIDTH)
    return f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {format_bytes(bundle.remaining_bytes)}"


def short_time(moment: datetime | None, now: datetime | None = None) -> str:
    """"22 Nov 09:00", with the year when it is not the current one ("04 Jan 2027 09:00")."""
    return formats.moment(moment, now)


def customer(order: Order) -> str:
    if order.customer_label:
        return order.customer_label
    return f"ICCID …{iccid_tail(order.iccid)}" if order.iccid else order.client_reference


def plan_summary(plan: Plan) -> str:
    return f"{plan.data_label} / {formats.days(plan.validity_days)}"


def top_up_mark(kind: OrderKind) -> str:
    """"Top-up " before a top-up's plan in lists, so a sale and its top-ups on one eSIM read apart."""
    return "Top-up " if kind is OrderKind.TOP_UP else ""
