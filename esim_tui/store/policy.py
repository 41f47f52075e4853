"""When an order leaves the small active file for the archive.

The active file is rewritten on every save, so it must stay small: it holds only orders still "in
play". An order is settled (archived) when nothing the counter does depends on it any more:

- FAILED or CANCELLED: no eSIM to hand over;
- the eSIM's install state is UNAVAILABLE: the code can no longer be used;
- expired (or refunded) for at least ``KEEP_FINISHED``: "Orders in play" shows a finished order for
  ``ui.keep_finished_hours`` (a day by default), so the active file keeps it longer than that, and a
  restart meanwhile still lists it;
- DELIVERED and installed (or installed and then removed) for at least ``SETTLE_AFTER_INSTALL``: the
  provider has stopped showing the code and the customer has the eSIM; the grace period keeps recent
  installs on the counter's list;
- DELIVERED and never installed, created at least ``KEEP_UNINSTALLED`` ago: a customer may install
  an eSIM long after buying it, so its code stays in the active file for more than a year.

Never settled, whatever their age: UNKNOWN and PENDING orders (they must be reconciled with the
provider first) and orders flagged ``needs_attention``. Archived orders stay readable and can still be
updated; an update that makes one unsettled (e.g. flagged for attention) brings it back to the
active file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esim_tui.domain.orders import (
    REFUNDED,
    ActivationStatus,
    InstallState,
    Order,
    OrderStatus,
)

SETTLE_AFTER_INSTALL = timedelta(days=2)
KEEP_UNINSTALLED = timedelta(days=400)
KEEP_FINISHED = timedelta(days=7)  # longer than "Orders in play" shows a finished order (keep_finished_hours)


def is_settled(order: Order, now: datetime) -> bool:
    """True when ``order`` belongs in the archive at ``now`` (see the module docstring for the rule)."""
    if order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING) or order.needs_attention:
        return False
    if order.status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        return True
    if order.install_state is InstallState.UNAVAILABLE:
        return True
    ended = finished_at(order, now)
    if ended is not None:
        return _utc(now) - ended >= KEEP_FINISHED
    # DELIVERED from here on.
    if order.is_installed:
        since = order.installed_at or order.updated_at
        return _utc(now) - _utc(since) >= SETTLE_AFTER_INSTALL
    return _utc(now) - _utc(order.created_at) >= KEEP_UNINSTALLED


def finished_at(order: Order, now: datetime) -> datetime | None:
    """When the order's eSIM was over for the counter, or None while it is not: refunded (when), or
    expired (the end of its validity, else when the provider said so)."""
    refund = next((c.at for c in order.history if c.event == REFUNDED), None)
    if refund is not None:
        return _utc(refund)
    if order.status is not OrderStatus.DELIVERED:
        return None
    ends = _utc(order.expires_at) if order.expires_at is not None else None
    if ends is not None and ends <= _utc(now):
        return ends
    if order.activation_status is ActivationStatus.EXPIRED:
        said = next((c.at for c in order.history if c.event == ActivationStatus.EXPIRED.value), None)
        return _utc(said or ends or order.updated_at)
    return None


def shows_in_play(order: Order, now: datetime, keep_finished: timedelta) -> bool:
    """Whether "Orders in play" lists ``order`` at ``now``: an expired or refunded one for
    ``keep_finished`` after it ended (the customer may come back to the counter about it), then not."""
    ended = finished_at(order, now)
    return ended is None or _utc(now) - ended < keep_finished


def _utc(value: datetime) -> datetime:
    # Records written by the app are timezone-aware; a naive one is taken to be UTC rather than refused.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
