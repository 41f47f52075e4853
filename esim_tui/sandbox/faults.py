"""Faults a drill or a test asks the sandbox for: ``POST /_sandbox/faults``.

A fault names a provider, an endpoint and a kind, and applies to the next ``count`` calls of that
endpoint. Side effects (a charge) happen or not exactly as the kind says, so the client's recovery can
be proven against the ledger.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    DELAY = "delay"  # commit at once, hold the answer back for "seconds" (wall clock)
    ERROR_500_AFTER_COMMIT = "error_500_after_commit"
    ERROR_503 = "error_503"  # 503 with Retry-After, nothing committed
    DROP_BEFORE_COMMIT = "drop_before_commit"  # connection closes; nothing committed
    DROP_AFTER_COMMIT = "drop_after_commit"  # committed (charged), then the connection closes
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After ("retry_after": seconds, a date, or any text)
    MALFORMED_JSON = "malformed_json"  # committed, then a 200 whose body is "truncated", "html" or "invalid_utf8"
    PENDING = "pending"  # create_order: answers PENDING; delivers after "seconds" of simulated time
    FAIL = "fail"  # create_order: FAILED with "failure_code", "failure_reason", "is_user_fixable"; refunded


#: Faults applied by the shared wrapper around any endpoint; the others are the endpoint's own business.
BEFORE_COMMIT = {FaultKind.RATE_LIMIT, FaultKind.DROP_BEFORE_COMMIT, FaultKind.ERROR_503}
AFTER_COMMIT = {FaultKind.DELAY, FaultKind.ERROR_500_AFTER_COMMIT, FaultKind.DROP_AFTER_COMMIT, FaultKind.MALFORMED_JSON}


@dataclass
class Fault:
    provider: str
    endpoint: str
    kind: FaultKind
    count: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"provider": self.provider, "endpoint": self.endpoint, "kind": self.kind.value, "count": self.count, **self.params}


class FaultBook:
    """Pending faults, first in first out per (provider, endpoint). Thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.version = 0  # moves on with every change to the book

    def add(self, fault: Fault) -> None:
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)
            self.version += 1

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.version += 1

    def take(self, provider: str, endpoint: str, kinds: set[FaultKind] | None = None) -> Fault | None:
        """Use up one call of the first matching fault, or return None."""
        with self._lock:
            for fault in self._faults:
                if fault.provider == provider and fault.endpoint == endpoint and (kinds is None or fault.kind in kinds):
                    fault.count -= 1
                    self.version += 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def dump(self) -> list[dict[str, Any]]:
        """The pending faults for the sandbox's state file."""
        with self._lock:
            return [{"provider": f.provider, "endpoint": f.endpoint, "kind": f.kind.value, "count": f.count, "params": dict(f.params)} for f in self._faults]

    def load(self, items: list[dict[str, Any]]) -> None:
        """Book again the faults ``dump`` wrote (raises ValueError, KeyError or TypeError on a bad one)."""
        faults = [Fault(str(i["provider"]), str(i["endpoint"]), FaultKind(i["kind"]), int(i["count"]), dict(i["params"])) for i in items]
        for fault in faults:
            self.add(fault)
