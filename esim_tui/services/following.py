"""Following eSIMs after the sale: which order to ask the provider about next, and when.

Each order follows its provider's own schedule (PENDING fulfilment, install, then data), so polling
stays inside the provider's advice and rate limits. ``poll_due`` asks one order at a time; the caller
re-arms it only after it returns, so one poll never overlaps the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from esim_tui.domain.errors import ProviderError
from esim_tui.domain.orders import ActivationStatus, Order, OrderStatus
from esim_tui.services.ordering import Sales
from esim_tui.services.wording import past_validity

log = logging.getLogger(__name__)


def stage(order: Order, now: datetime | None = None) -> str | None:
    """What there is still to follow for an order at ``now``, or None when it is settled (past its
    validity too: nothing more will happen to it)."""
    if order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING):
        return "fulfilment"
    if order.status is not OrderStatus.DELIVERED or order.activation_status is ActivationStatus.EXPIRED or order.refunded:
        return None
    if past_validity(order, now):
        return None
    if not order.is_installed:
        return "install"
    if any(b.state.value in ("depleted", "expired", "revoked", "lapsed") for b in order.bundles) and len(order.bundles) == 1:
        return None
    return "usage"


@dataclass
class _Track:
    stage: str
    delays: Iterator[float]
    due: datetime
    last_error: str | None = None


@dataclass
class PollResult:
    order: Order
    changed: bool
    error: ProviderError | None = None


@dataclass
class Follower:
    sales: Sales
    now: Callable[[], datetime]
    _tracks: dict[str, _Track] = field(default_factory=dict)

    def track(self, order: Order, *, soon: bool = False) -> None:
        """Follow ``order`` on its provider's schedule (``soon``: ask at the next tick)."""
        current = stage(order, self.now())
        if current is None:
            self._tracks.pop(order.id, None)
            return
        track = self._tracks.get(order.id)
        if track is None or track.stage != current:
            delays = self._delays(order, current)
            first = next(delays, None)
            if first is None:
                self._tracks.pop(order.id, None)
                return
            track = _Track(current, delays, self.now() + timedelta(seconds=first))
            self._tracks[order.id] = track
        if soon:
            track.due = self.now()

    def forget(self, order_id: str) -> None:
        self._tracks.pop(order_id, None)

    def error(self, order_id: str) -> str | None:
        track = self._tracks.get(order_id)
        return track.last_error if track else None

    def due(self) -> list[str]:
        now = self.now()
        return sorted((oid for oid, t in self._tracks.items() if t.due <= now), key=lambda oid: self._tracks[oid].due)

    def next_due(self) -> datetime | None:
        return min((t.due for t in self._tracks.values()), default=None)

    async def poll(self, order: Order) -> PollResult:
        """Ask the provider about one order now and schedule its next poll."""
        track = self._tracks.get(order.id)
        try:
            updated = await self.sales.refresh(order)
        except ProviderError as exc:
            if track is not None:
                track.last_error = exc.message
                self._reschedule(order, track)
            return PollResult(order, False, exc)
        if track is not None:
            track.last_error = None
        self.track(updated)
        track = self._tracks.get(updated.id)
        if track is not None and track.due <= self.now():
            self._reschedule(updated, track)
        changed = updated.model_dump() != order.model_dump()
        return PollResult(updated, changed)

    def _reschedule(self, order: Order, track: _Track) -> None:
        wait = next(track.delays, None)
        if wait is None:
            # The provider's advice says stop asking (e.g. install after an hour); the desk can still refresh.
            self._tracks.pop(order.id, None)
        else:
            track.due = self.now() + timedelta(seconds=wait)

    def _delays(self, order: Order, current: str) -> Iterator[float]:
        provider = self.sales.provider(order.provider)
        if current == "fulfilment":
            return provider.fulfilment_delays()
        if current == "install":
            return provider.install_delays()
        return provider.usage_delays()
