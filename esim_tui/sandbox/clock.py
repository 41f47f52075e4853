"""Simulated time: runs ``speed`` times faster than the wall clock and can be moved on by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, start: datetime | None = None, speed: float = 1.0, monotonic=time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (frozen) or more")
        self._start = start or datetime.now(UTC).replace(microsecond=0)
        self._speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def advanced_seconds(self) -> float:
        """How far the clock has been moved on by hand since it started."""
        return self._offset

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._t0) * self._speed + self._offset
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        return self.now()
