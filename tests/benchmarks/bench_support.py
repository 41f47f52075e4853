"""Speed and memory of the support desk's order search (services.support.OrderFinder), 100,000 orders.

What is measured:

- a search keystroke: ``finder.search(query)`` with the whole answer (no limit), as the Orders screen
  asks on every key, timed call by call while typing, from an empty search box, (a) the last four digits
  of an ICCID, (b) a customer's name, (c) a destination; then Backspace three times. Target: median
  <= 16 ms (one frame). The finder keeps its recent answers as typing goes, as it does in the app.
- the finder's memory (tracemalloc: what the finder holds once built, then with its recent answers).
- building the finder from 100,000 Orders already in memory.
- opening the Orders screen's list from a real store of 100,000 orders on disk: what F2 does, that is
  ``OrderFinder.load`` on the app's read-write store, the whole list (an empty search box) and its first
  screenful of cells. Target: <= 1 s. Measured in the store's life: the very first F2 (no summaries
  yet: every segment is read and its summary written; once, and again after an upgrade that changes
  the rows' code), F2 after a day's sales (the current segment and one old segment written since),
  F2 with every summary up to date, and ``esim-tui orders find``'s read-only load; then, for
  comparison, the old way (every order read in full), if that takes under a minute.

The orders are built in memory from one template with ``model_copy`` (no validation), with varied
customers, e-mails, destinations, plans, dates and states; on disk, all but the newest 500 are in
archive segments (the store's layout; some of the 500 settle into the archive at the first open).
Run: python -m tests.benchmarks.bench_support
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from esim_tui.domain.codes import mint_iccid
from esim_tui.domain.destinations import all_countries
from esim_tui.domain.money import Money
from esim_tui.domain.orders import ActivationStatus, BundleState, BundleUsage, InstallState, Order, OrderStatus
from esim_tui.domain.plans import ProviderName
from esim_tui.services.support import OrderFinder
from esim_tui.store.orders import SEGMENT_CAPACITY, OrderStore
from tests.benchmarks.bench_store import _write
from tests.store import JAPAN_5GB, T0, make_order, tinydb_file

TOTAL = 100_000
IN_PLAY = 500
KEYSTROKE_TARGET_MS = 16.0
LIST_TARGET_S = 1.0
LOAD_LIMIT_S = 60.0
NOW = T0 + timedelta(days=1)  # the store's clock: a day after the newest order

FIRST = ["Ana", "Bo", "Chen", "Dmitri", "Elif", "Fatima", "Giulia", "Hiro", "Ines", "Jonas", "Kofi", "Lena", "Mariana",
         "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Yara", "Zoë"]
LAST = ["Silva", "Li", "Okafor", "Müller", "Garcia", "Tanaka", "Novak", "Haddad", "Kowalski", "Dubois", "Smith", "Rossi",
        "Nguyen", "Ivanova", "Andersen", "Côté", "Mensah", "Yilmaz", "Fernández", "Papadopoulos"]


def orders(total: int = TOTAL, seed: int = 2026) -> list[Order]:
    """``total`` varied orders over three years, newest last, built fast from a template."""
    rng = random.Random(seed)
    countries = [c for c in all_countries() if c.region is not None]
    plans = []
    for c in countries:
        for gb, days in ((1, 7), (5, 30)):
            plans.append(JAPAN_5GB.model_copy(update={
                "plan_id": f"{c.code}-{gb}GB-{days}D", "name": f"{c.name} {gb} GB / {days} days", "destination": c,
                "data_mb": gb * 1000, "validity_days": days, "coverage": (c.code,),
                "price": Money(amount=Decimal(gb * 3) + Decimal("0.50"), currency="USD"),
                "provider": ProviderName.OCTOPUS if gb == 1 else ProviderName.ESIMGO,
            }))
    template = make_order(0)
    step = timedelta(days=3 * 365) / total
    queued = template.bundles[0]
    states = [
        {},  # delivered, not installed
        {"install_state": InstallState.INSTALLED, "installed_at": T0},
        {"install_state": InstallState.INSTALLED, "activation_status": ActivationStatus.ACTIVE,
         "bundles": (queued.model_copy(update={"state": BundleState.ACTIVE, "remaining_bytes": 1_250_000_000}),)},
        {"install_state": InstallState.INSTALLED, "bundles": (queued.model_copy(update={"state": BundleState.DEPLETED, "remaining_bytes": 0}),)},
        {"activation_status": ActivationStatus.EXPIRED, "bundles": (BundleUsage(bundle_name="JP", state=BundleState.EXPIRED),)},
        {"status": OrderStatus.FAILED, "activation_code": None, "iccid": None, "bundles": ()},
        {"status": OrderStatus.PENDING, "activation_code": None, "iccid": None, "bundles": ()},
    ]
    out = []
    for n in range(total):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = T0 - timedelta(days=3 * 365) + step * n
        change = {
            "id": f"ord-{n:08d}",
            "client_reference": f"ESIM-{created:%Y%m%d}-{n:08d}",
            "provider_order_id": f"oc-{rng.randrange(10**10):010d}",
            "customer_label": f"{first} {last}" if n % 5 else f"booking {rng.randrange(10**6):06d}",
            "customer_email": f"{first.lower()}.{last.lower()}@example.com" if n % 3 else "",
            "iccid": mint_iccid(rng),
            "plan": rng.choice(plans),
            "created_at": created,
            "updated_at": created,
            **rng.choice(states),
        }
        if n % 997 == 0:
            change["needs_attention"] = "The provider sent a different activation code; the first one is kept."
        out.append(template.model_copy(update=change))
    return out


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def _verdict(value: float, target: float) -> str:
    return f"target <= {target:g} ms  {'PASS' if value <= target else 'FAIL'}"


def typing(text: str) -> Iterator[str]:
    """What the search box holds after each key: the text typed one character at a time, then three
    Backspaces."""
    for i in range(1, len(text) + 1):
        yield text[:i]
    for i in range(1, 4):
        yield text[: len(text) - i]


def keystrokes(finder: OrderFinder, queries: Iterable[str]) -> list[float]:
    finder.search("")  # the box starts empty
    out = []
    for query in queries:
        t = time.perf_counter()
        finder.search(query)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _limited(source: Iterable[Order], seconds: float, seen: list[int]) -> Iterator[Order]:
    start = time.perf_counter()
    for order in source:
        seen[0] += 1
        yield order
        if time.perf_counter() - start > seconds:
            return


def run() -> list[str]:
    lines: list[str] = []
    t = time.perf_counter()
    sample = orders()
    lines.append(f"support: built {TOTAL:,} orders in memory in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    finder = OrderFinder.from_orders(sample)
    lines.append(f"support: OrderFinder.from_orders({TOTAL:,} orders): {time.perf_counter() - t:.2f} s")

    rng = random.Random(7)
    targets = rng.sample(sample, 5)
    kinds = {
        "ICCID last 4 digits": [t.iccid[-4:] for t in targets if t.iccid] or ["8796"],
        "customer name": [t.customer_label for t in targets if not t.customer_label.startswith("booking")] or ["Ana Silva"],
        "destination": [t.plan.destination.name for t in targets],
    }
    everything: list[float] = []
    for label, texts in kinds.items():
        samples = [ms for text in texts for ms in keystrokes(finder, typing(text))]
        everything += samples
        median = statistics.median(samples)
        lines.append(
            f"support: keystroke, typing {label} ({', '.join(repr(x) for x in texts[:3])}…): median {median:.1f} ms, "
            f"p95 {p95(samples):.1f} ms, max {max(samples):.1f} ms (n={len(samples)})  {_verdict(median, KEYSTROKE_TARGET_MS)}"
        )
    median = statistics.median(everything)
    lines.append(
        f"support: keystroke, all of the above: median {median:.1f} ms, p95 {p95(everything):.1f} ms  "
        f"{_verdict(median, KEYSTROKE_TARGET_MS)}"
    )
    tail = targets[0].iccid[-4:] if targets[0].iccid else "0000"
    found = finder.search(tail)
    lines.append(f"support: '{tail}' finds {len(found)} orders; the ICCID ending in it is first: {found[0].iccid.endswith(tail) if found and found[0].iccid else False}")

    del finder
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    finder = OrderFinder.from_orders(sample)
    held = tracemalloc.get_traced_memory()[0] - before
    keystrokes(finder, typing(kinds["customer name"][0]))
    with_answers = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    lines.append(
        f"support: finder memory: {held / 1e6:.1f} MB ({held / TOTAL:.0f} bytes per order), "
        f"{with_answers / 1e6:.1f} MB with its recent answers while typing"
    )
    del finder
    gc.collect()
    lines += _open_the_list(sample)
    return lines


def build_store(folder: Path, sample: list[Order]) -> Path:
    """Write ``sample`` as a store on disk, straight to its files (saving 100,000 orders one by one
    would take hours): the newest ``IN_PLAY`` in the active file, the rest in archive segments."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ordered = sorted(sample, key=lambda o: o.created_at)
    docs = [{**o.model_dump(mode="json"), "_rev": rev} for rev, o in enumerate(ordered, start=1)]
    archived = docs[:-IN_PLAY]
    for number, start in enumerate(range(0, len(archived), SEGMENT_CAPACITY), start=1):
        _write(folder / f"orders-archive-{number:06d}.json", tinydb_file(archived[start : start + SEGMENT_CAPACITY]))
    path = folder / "orders.json"
    _write(path, tinydb_file(docs[-IN_PLAY:]))
    return path


_CPU: list[float] = []  # the process's CPU seconds of each _open_list: steadier than wall time on a busy machine


def _open_list(store: OrderStore) -> float:
    """Seconds for what F2 does once the store is open: the finder, the whole list, its first screenful."""
    t, cpu = time.perf_counter(), time.process_time()
    finder = OrderFinder.load(store)
    rows = finder.search("")
    for row in rows[:40]:
        row.cells  # noqa: B018 - the screen formats the rows it paints
    took = time.perf_counter() - t
    _CPU.append(time.process_time() - cpu)
    assert len(finder) == store.count()
    return took


def _verdict_s(value: float) -> str:
    return f"target <= {LIST_TARGET_S:g} s  {'PASS' if value <= LIST_TARGET_S else 'FAIL'}"


def _open_the_list(sample: list[Order]) -> list[str]:
    lines = []
    clock = lambda: NOW  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-support-") as tmp:
        path = build_store(Path(tmp) / "data", sample)
        OrderStore.open(path, clock=clock).close()  # the first start writes the segments' index files
        label = f"support: opening the Orders list, {TOTAL:,} orders on disk"

        with OrderStore.open(path, clock=clock) as store:
            took = _open_list(store)
        lines.append(f"{label}, first F2 ever (reads every order, writes the summaries; once): {took:.1f} s (CPU {_CPU[-1]:.1f} s)")

        # A day at the counter without the order list: sales settle into the current segment, and the
        # desk corrects an old order, so two segments' summaries are out of date at the next F2.
        with OrderStore.open(path, clock=clock) as store:
            for n in range(50):
                store.save(make_order(TOTAL + n, created_at=NOW - timedelta(hours=n), status=OrderStatus.FAILED))
            old = store.get(f"ord-{TOTAL // 3:08d}")
            assert old is not None
            store.save(old.model_copy(update={"customer_email": "corrected@example.com"}))
        with OrderStore.open(path, clock=clock) as store:
            took = _open_list(store)
        lines.append(
            f"{label}, F2 after a day's sales (the segments written since summarised afresh): {took:.2f} s (CPU {_CPU[-1]:.2f} s)  {_verdict_s(took)}"
        )

        samples = []
        for _ in range(7):
            with OrderStore.open(path, clock=clock) as store:
                samples.append(_open_list(store))
        median = statistics.median(samples)
        lines.append(
            f"{label}, F2 with the summaries up to date: median {median:.2f} s, max {max(samples):.2f} s "
            f"(CPU median {statistics.median(_CPU[-len(samples):]):.2f} s, n={len(samples)})  {_verdict_s(median)}"
        )
        with OrderStore.open(path, read_only=True) as store:
            took = _open_list(store)
            lines.append(f"{label}, read-only (esim-tui orders find): {took:.2f} s (CPU {_CPU[-1]:.2f} s)")
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            finder = OrderFinder.load(store)
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            del finder
        size_mb = sum(p.stat().st_size for p in path.parent.glob("*.summary.json")) / 1e6
        lines.append(
            f"support: the summaries on disk: {size_mb:.0f} MB ({size_mb * 1e6 / TOTAL:.0f} bytes per order); the finder "
            f"loaded from them holds {held / 1e6:.0f} MB (it owns every string, unlike the figure from orders in memory)"
        )

        with OrderStore.open(path, read_only=True) as store:
            seen = [0]
            t = time.perf_counter()
            finder = OrderFinder.from_orders(_limited(store.all(), LOAD_LIMIT_S, seen))
            took = time.perf_counter() - t
            total = store.count()
        if len(finder) < total:
            lines.append(f"{label}, every order read in full (before summaries): over {LOAD_LIMIT_S:.0f} s ({seen[0]:,} read)")
        else:
            lines.append(f"{label}, every order read in full (before summaries): {took:.1f} s")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
