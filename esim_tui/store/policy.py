"""When an order leaves the small active file for the archive.

The active file is rewritten on every save, so it must stay small: it holds only orders still "in
play". An order is settled (archived) when nothing the counter does depends on it any more:

- FAILED or CANCELLED: no eSIM to hand over;
- the eSIM's activation status is EXPIRED, or its install state is UNAVAILABLE: the code can no longer
  be used;
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

from esim_tui.domain.orders import ActivationStatus, InstallState, Order, OrderStatus

SETTLE_AFTER_INSTALL = timedelta(days=2)
KEEP_UNINSTALLED = timedelta(days=400)


def is_settled(order: Order, now: datetime) -> bool:
    """True when ``order`` belongs in the archive at ``now`` (see the module docstring for the rule)."""
    if order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING) or order.needs_attention:
        return False
    if order.status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        return True
    if order.activation_status is ActivationStatus.EXPIRED or order.install_state is InstallState.UNAVAILABLE:
        return True
    # DELIVERED from here on.
    if order.is_installed:
        since = order.installed_at or order.updated_at
        return _utc(now) - _utc(since) >= SETTLE_AFTER_INSTALL
    return _utc(now) - _utc(order.created_at) >= KEEP_UNINSTALLED


def _utc(value: datetime) -> datetime:
    # Records written by the app are timezone-aware; a naive one is taken to be UTC rather than refused.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
