"""Saves orders in a loop until killed, for the kill -9 drill on store writes.

``python -m tests.drills.save_child STORE START [ACKS NAME NTH]`` saves ``version(i)`` for i = START,
START+1, ... and prints ``ack i`` after each save returns (the save is then acknowledged: durable).
With ACKS NAME NTH, the save after ACKS acknowledged ones stops at its NTH ``os.NAME`` call (NAME one
of open, write, fsync, close, replace: the steps of an atomic write), prints ``parked NAME`` and waits
to be killed there. The sequence is fixed, so the test knows what every save wrote.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.store.orders import OrderStore
from tests.drills import park, say
from tests.store import later, make_order

IDS = 40
SEGMENT_CAPACITY = 8  # small segments: moves fill and open new ones often
NOW = later(30)


def version(i: int) -> Order:
    """Save number ``i``: its label starts ``v<i>``, so the store shows which save it holds.

    A fixed mix of the writes a counter makes: new sales, updates that grow and shrink the active
    file, orders settling into the archive and coming back into play. Codes are always kept.
    """
    label = f"v{i} " + "x" * (300 * (i % 5))
    if i % 5 == 4:
        return make_order(1000 + i, customer_label=label)  # a new sale
    n = i % IDS
    phase = (i // IDS) % 3
    if phase == 1:
        return make_order(n, status=OrderStatus.CANCELLED, customer_label=label)  # settles: into the archive
    if phase == 2:
        return make_order(n, status=OrderStatus.CANCELLED, needs_attention="check", customer_label=label)  # back
    return make_order(n, customer_label=label)


def open_store(path: Path) -> OrderStore:
    return OrderStore.open(path, clock=lambda: NOW, segment_capacity=SEGMENT_CAPACITY)


def park_at(name: str, nth: int) -> None:
    """From now on, the ``nth`` call of ``os.<name>`` parks the process instead of running."""
    real: Callable = getattr(os, name)
    seen = 0

    def traced(*args, **kwargs):
        nonlocal seen
        seen += 1
        if seen == nth:
            say("parked", name, nth)
            park()
        return real(*args, **kwargs)

    setattr(os, name, traced)


if __name__ == "__main__":
    path, start = Path(sys.argv[1]), int(sys.argv[2])
    stop = (int(sys.argv[3]), sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 3 else None
    store = open_store(path)
    for i in itertools.count(start):
        if stop is not None and i == start + stop[0]:
            park_at(stop[1], stop[2])
        store.save(version(i))
        say("ack", i)
