"""Crashes while saving: at every step of the write, and a real process killed with SIGKILL.

After any crash, every order file must parse, every order must be there exactly once, and the one
being saved must hold either its old or its new state.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from esim_tui.domain.orders import Order
from esim_tui.store.orders import OrderStore, StoreWriteFailed
from tests.store import fail_at, failed, file_state, later, make_order

NOW = later(30)
REPO = Path(__file__).resolve().parents[2]

# Each scenario: the orders on file before, and the save that is interrupted.
SCENARIOS: dict[str, tuple[list[Order], Order]] = {
    # an order in play is updated: one write, of the active file
    "update": ([make_order(1), make_order(2)], make_order(1, customer_label="new label " * 50)),
    # an order settles: written into the archive, then removed from the active file
    "move": ([make_order(1), make_order(2), failed(3)], failed(1)),
    # a settled order needs attention again: written into the active file, then removed from the archive
    "move back": (
        [failed(1), make_order(2), failed(3)],
        failed(1).model_copy(update={"needs_attention": "charged twice?"}),
    ),
}


def open_store(path: Path, **kwargs) -> OrderStore:
    return OrderStore.open(path, clock=lambda: NOW, segment_capacity=2, **kwargs)


def seed(path: Path, orders: list[Order]) -> None:
    with open_store(path) as store:
        for order in orders:
            store.save(order)


def check(path: Path, before: list[Order], saving: Order) -> str:
    """The invariants after a crash; returns "old" or "new" for the order being saved."""
    for f in path.parent.iterdir():
        if f.name.endswith(".json") or f.name.endswith(".bak"):
            file_state(f)  # raises if any file does not parse
    expected_ids = sorted(o.id for o in before)
    old = next(o for o in before if o.id == saving.id)
    with open_store(path, read_only=True) as reader:
        seen_read_only = reader.get(saving.id)
    with open_store(path) as store:  # the app starting again
        assert sorted(o.id for o in store.all()) == expected_ids  # all there, none twice
        assert store.count() == len(expected_ids)
        for order in before:
            if order.id != saving.id:
                assert store.get(order.id) == order
        now = store.get(saving.id)
    assert now in (old, saving)
    assert seen_read_only == now
    assert not [f.name for f in path.parent.iterdir() if f.name.endswith(".tmp")]
    return "new" if now == saving else "old"


def count_steps(tmp_path: Path, before: list[Order], saving: Order) -> int:
    path = tmp_path / "probe" / "orders.json"
    seed(path, before)
    with open_store(path) as store, fail_at(None) as calls:
        store.save(saving)
    return len(calls)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_failure_at_every_step_of_a_save(tmp_path: Path, scenario: str) -> None:
    """An OSError at step k (for every k): the save reports it or not, and disk and memory agree."""
    before, saving = SCENARIOS[scenario]
    total = count_steps(tmp_path, before, saving)
    assert total >= (16 if "move" in scenario else 8)
    outcomes = []
    for step in range(total + 1):
        path = tmp_path / f"step-{step}" / "orders.json"
        seed(path, before)
        with open_store(path) as store:
            with fail_at(step):
                try:
                    store.save(saving)
                    reported = False
                except StoreWriteFailed:
                    reported = True
            in_memory = store.get(saving.id)
            assert store.count() == len(before)
        outcome = check(path, before, saving)
        assert in_memory == (saving if outcome == "new" else next(o for o in before if o.id == saving.id))
        if outcome == "old":
            assert reported, f"step {step}: the save failed silently"
        outcomes.append(outcome)
    assert outcomes[0] == "old" and outcomes[-1] == "new"


DIE_AT_EVERY_STEP = """
import os, sys
from pathlib import Path
from tests.store import fail_at
from tests.store.test_crash import SCENARIOS, open_store, seed

root, name, total = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
before, saving = SCENARIOS[name]
for step in range(total + 1):
    path = root / f"step-{step}" / "orders.json"
    seed(path, before)
    pid = os.fork()  # forked from this fresh, single-threaded process, not from pytest
    if pid == 0:
        code = 1
        try:
            store = open_store(path)
            with fail_at(step, crash=lambda: os._exit(137)):
                store.save(saving)
            code = 0
        finally:
            os._exit(code)
    print(step, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["update", "move"])
def test_process_dying_at_every_step_of_a_save(tmp_path: Path, scenario: str) -> None:
    """No exception handler runs: the process just ends at step k (temporary files stay behind)."""
    before, saving = SCENARIOS[scenario]
    total = count_steps(tmp_path, before, saving)
    done = subprocess.run(
        [sys.executable, "-c", DIE_AT_EVERY_STEP, str(tmp_path), scenario, str(total)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    statuses = [tuple(map(int, line.split())) for line in done.stdout.splitlines()]
    assert statuses == [(step, 137) for step in range(total)] + [(total, 0)]
    outcomes = [check(tmp_path / f"step-{step}" / "orders.json", before, saving) for step in range(total + 1)]
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert outcomes == sorted(outcomes, key=["old", "new"].index)  # once new, never old again


CHILD = """
import itertools, sys
from pathlib import Path
from esim_tui.store.orders import OrderStore
from tests.store import failed, later, make_order

store = OrderStore.open(Path(sys.argv[1]), clock=lambda: later(30), segment_capacity=8)
print("ready", flush=True)
for i in itertools.count():
    n = i % 40
    if i % 3 == 0:
        store.save(failed(n))  # settles: a move into the archive
    elif i % 3 == 1:
        store.save(make_order(n, customer_label="x" * 400 * (i % 7)))  # back into play, growing and shrinking
    else:
        store.save(make_order(1000 + i))  # a new sale
"""


@pytest.mark.slow
def test_process_killed_while_saving_in_a_loop_leaves_a_good_store(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    path = tmp_path / "data" / "orders.json"
    seed(path, [make_order(n) for n in range(40)])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for run in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n", child.stderr.read()
            time.sleep(rng.uniform(0.05, 0.4))
            assert child.poll() is None, child.stderr.read()  # still writing when killed
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
            child.stderr.close()
        for f in path.parent.iterdir():
            if f.name.endswith((".json", ".bak")):
                file_state(f)
        with open_store(path) as store:
            every = [o.id for o in store.all()]
            assert len(every) == len(set(every)) == store.count()
            assert {f"ord-{n:08d}" for n in range(40)} <= set(every), f"run {run}: an order was lost"
            assert store.count() > 40 or run == 0
