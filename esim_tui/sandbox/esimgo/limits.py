"""eSIM Go's rate limit: 10 tokens a second per client IP, the catalogue costing 5."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

RATE_LIMIT_TOKENS = 10
RATE_WINDOW_SECONDS = 1.0


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

