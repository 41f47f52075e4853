"""Speed of the order store with a busy shop's history on disk.

100,000 orders: 500 in play in the active file, the rest settled in archive segments. The files are
built directly (inserting 100,000 orders one by one would take hours with TinyDB). Targets: recording
an order <= 20 ms (median), opening the store <= 300 ms (median). Run: python -m tests.benchmarks.bench_store
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from esim_tui.domain.orders import InstallState, Order, OrderStatus
from esim_tui.store.orders import SEGMENT_CAPACITY, OrderStore
from tests.store import T0, make_order, tinydb_file

TOTAL = 100_000
IN_PLAY = 500
SAVE_TARGET_MS = 20.0
OPEN_TARGET_MS = 300.0
NOW = T0 + timedelta(days=3 * 365)


def _doc(template: dict[str, Any], n: int, created: str, rev: int) -> dict[str, Any]:
    doc = dict(template)
    doc.update(
        id=f"ord-{n:08d}",
        client_reference=f"ESIM-BENCH-{n:08d}",
        provider_order_id=f"oc-{n:010d}",
        iccid=f"89440000{n:011d}",
        activation_code=f"LPA:1$smdp.example.com${n:08d}-ABCD-EFGH",
        created_at=created,
        updated_at=created,
        _rev=rev,
    )
    return doc


def build(folder: Path, total: int = TOTAL, in_play: int = IN_PLAY) -> Path:
    """Write a store of ``total`` orders (``in_play`` of them active) straight to disk; returns its path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "orders.json"
    start = NOW - timedelta(days=3 * 365)
    step = (NOW - timedelta(days=30) - start) / total
    settled = make_order(0, install_state=InstallState.INSTALLED, installed_at=start).model_dump(mode="json")
    waiting = make_order(0, status=OrderStatus.DELIVERED).model_dump(mode="json")
    archived = total - in_play
    segment: list[dict[str, Any]] = []
    number = 0
    for n in range(archived):
        created = (start + step * n).isoformat().replace("+00:00", "Z")
        segment.append(_doc(settled, n, created, n + 1))
        if len(segment) == SEGMENT_CAPACITY or n == archived - 1:
            number += 1
            _write(folder / f"orders-archive-{number:06d}.json", tinydb_file(segment))
            segment = []
    active = [
        _doc(waiting, n, (NOW - timedelta(days=20) + timedelta(minutes=n - archived)).isoformat(), n + 1)
        for n in range(archived, total)
    ]
    _write(path, tinydb_file(active))
    return path


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _ms(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _line(label: str, samples: list[float], target: float | None = None) -> str:
    median = statistics.median(samples)
    text = f"store: {label}: median {median:.1f} ms, max {max(samples):.1f} ms (n={len(samples)})"
    if target is not None:
        text += f"  target <= {target:.0f} ms  {'OK' if median <= target else 'TOO SLOW'}"
    return text


def run() -> list[str]:
    """Build the 100,000-order store in a temporary folder, measure, and return the figure lines."""
    lines: list[str] = []
    clock = lambda: NOW  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp) / "data"
        t = time.perf_counter()
        path = build(folder)
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        lines.append(
            f"store: built {TOTAL:,} orders ({IN_PLAY} in play) in {time.perf_counter() - t:.1f} s, {size_mb:.0f} MB"
        )

        t = time.perf_counter()
        OrderStore.open(path, clock=clock).close()
        took = time.perf_counter() - t
        lines.append(f"store: first open (reads every segment, writes their index files): {took:.2f} s")

        def open_close() -> float:
            t = time.perf_counter()
            store = OrderStore.open(path, clock=clock)
            took = (time.perf_counter() - t) * 1000
            store.close()
            return took

        lines.append(_line(f"open with {TOTAL:,} orders", [open_close() for _ in range(9)], OPEN_TARGET_MS))

        def open_read_only() -> float:
            t = time.perf_counter()
            store = OrderStore.open(path, read_only=True)
            took = (time.perf_counter() - t) * 1000
            store.close()
            return took

        lines.append(_line("open read-only", [open_read_only() for _ in range(5)]))

        with OrderStore.open(path, clock=clock) as store:
            counter = iter(range(TOTAL, TOTAL + 10_000))

            def new_order() -> Order:
                n = next(counter)
                return make_order(n, created_at=NOW, status=OrderStatus.UNKNOWN, activation_code=None, iccid=None)

            fresh = [new_order() for _ in range(200)]
            it = iter(fresh)
            lines.append(_line("record a new order", _ms(lambda: store.save(next(it)), 200), SAVE_TARGET_MS))

            delivered = [o.model_copy(update={"status": OrderStatus.DELIVERED}) for o in fresh[:100]]
            it = iter(delivered)
            lines.append(_line("update an order in play", _ms(lambda: store.save(next(it)), 100), SAVE_TARGET_MS))

            settle = [o.model_copy(update={"status": OrderStatus.CANCELLED}) for o in fresh[100:200]]
            it = iter(settle)
            lines.append(_line("settle an order (move to the archive)", _ms(lambda: store.save(next(it)), 100)))

            # Rare: a support-desk change to an archived order; each one in a different old segment.
            old = [store.get(f"ord-{n:08d}") for n in range(250, 40_000, 2_000)]
            touched = [o.model_copy(update={"customer_label": "updated by support"}) for o in old if o]
            it = iter(touched)
            samples = _ms(lambda: store.save(next(it)), len(touched))
            lines.append(_line("update an archived order (cold segment)", samples))

            ids = iter(f"ord-{n:08d}" for n in range(40_333, 99_000, 3_001))
            lines.append(_line("get an archived order (cold segment)", _ms(lambda: store.get(next(ids)), 19)))
            lines.append(_line("get an order in play", _ms(lambda: store.get(f"ord-{TOTAL - 3:08d}"), 50)))
            lines.append(_line("list the orders in play", _ms(store.in_play, 5)))

            t = time.perf_counter()
            first_100 = [o for _, o in zip(range(100), store.all(), strict=False)]
            lines.append(f"store: first 100 of all(), newest first: {(time.perf_counter() - t) * 1000:.1f} ms")
            assert len(first_100) == 100 and store.count() == TOTAL + 200

        # The session above changed the current segment and 20 old ones; closing re-indexed them.
        lines.append(_line("open after that session", [open_close()]))
        lines.append(_line("open once more", [open_close() for _ in range(3)], OPEN_TARGET_MS))

    # The active file grows with the orders in play, not with history: show the save cost if many wait.
    for in_play in (2_000,):
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            path = build(Path(tmp) / "data", total=20_000, in_play=in_play)
            with OrderStore.open(path, clock=clock) as store:
                counter = iter(range(TOTAL, TOTAL + 1_000))
                samples = _ms(
                    lambda: store.save(make_order(next(counter), created_at=NOW, status=OrderStatus.UNKNOWN)), 50
                )
                lines.append(_line(f"record a new order with {in_play:,} in play (worst case)", samples))
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
