"""kill -9 in the middle of a sale, then the app's start-up: the sale is there once, with its code.

A child process sells one eSIM through Sales, the Octopus Cards adapter and a real OrderStore, against
the sandbox on loopback, and is killed with SIGKILL at one point of the sale. The test then does what
the app does at start (open the store, ``Sales.reconcile()`` before any new sale) and checks what the
counter relies on:

- the order file opens, is not empty, and still holds the sale;
- the sandbox ledger shows at most one charge for the sale's reference (exactly one once delivered);
- the order is DELIVERED with the provider's activation code, or UNKNOWN and "needs attention" with
  the facts, never FAILED;
- a delivered code that was never shown is on file with ``shown_at`` None, so the app shows it again;
- starting again once more changes nothing and charges nothing.

No drill guesses a timing: the child says where it is on stdout and parks there, or (in flight) the
test waits for the charge to appear on the ledger.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.domain.plans import ProviderName
from esim_tui.providers.octopus import OctopusCards
from esim_tui.services.ordering import OUTCOME_UNKNOWN, Sales
from esim_tui.store.orders import OrderStore
from tests.conftest import ServedSandbox
from tests.drills import TOKEN, Child, charges, provider_code
from tests.store import file_state

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

async def no_wait(seconds: float) -> None:
    """Look-up back-offs take no time in a drill (they would only make it slower, not different)."""


def start_sale(served: ServedSandbox, tmp_path: Path, reference: str, stop: str) -> tuple[Child, Path]:
    path = tmp_path / "data" / "orders.json"
    return Child("tests.drills.sale_child", served.url, str(path), reference, stop), path


def on_disk(path: Path, reference: str) -> Order:
    """What the order file holds now, read as ``esim-tui orders`` would (read-only)."""
    for f in path.parent.iterdir():
        if f.name.endswith((".json", ".bak")):
            file_state(f)  # raises if any file is not valid JSON
    assert file_state(path), "the order file is empty"
    with OrderStore.open(path, read_only=True) as reader:
        order = reader.by_client_reference(reference)
    assert order is not None, "the sale is not on file"
    return order


async def start_app(path: Path, url: str, reference: str) -> tuple[list[Order], Order]:
    """The app starting again: open the store and reconcile before any new sale."""
    on_disk(path, reference)
    provider = OctopusCards(url, SecretStr(TOKEN), sleep=no_wait)
    try:
        with OrderStore.open(path) as store:
            settled = await Sales({ProviderName.OCTOPUS: provider}, store, sleep=no_wait).reconcile()
            order = store.by_client_reference(reference)
    finally:
        await provider.aclose()
    assert order is not None
    return settled, order


def never_shown(order: Order) -> bool:
    """The app's start-up rule for showing a delivered eSIM again (ui/app.py)."""
    return order.status is OrderStatus.DELIVERED and bool(order.activation_code) and order.shown_at is None and not order.is_installed


def assert_delivered_once(order: Order, url: str, reference: str) -> None:
    paid = charges(url)
    assert len(paid) == 1, f"charged {len(paid)} times"  # one sale confirmed, one charge, under any reference
    assert paid[0]["client_reference"] == reference and not paid[0]["refunded"]
    assert order.status is OrderStatus.DELIVERED
    assert order.provider_order_id == paid[0]["order_id"]
    assert order.activation_code == provider_code(url, order.provider_order_id)
    assert order.needs_attention is None
    assert never_shown(order)


async def assert_second_start_changes_nothing(path: Path, url: str, reference: str, before: Order) -> None:
    settled, again = await start_app(path, url, reference)
    assert settled == []
    assert again == before
    assert len(charges(url)) == 1


# Where the child stops, what it says there, and what is on file and on the ledger at that moment.
POINTS = {
    # the intent is saved, nothing sent: the start-up finds no order and sends it, same reference
    "intent": ("intent", OrderStatus.UNKNOWN, 0),
    # SENT is noted and the request is about to leave, not a byte on the wire
    "before_send": ("sending", OrderStatus.UNKNOWN, 0),
    # the provider charged and answered with the code; the answer never reached the file
    "answered": ("answered", OrderStatus.UNKNOWN, 1),
    # the code is saved; the delivery screen never came up
    "delivered": ("placed", OrderStatus.DELIVERED, 1),
}


@pytest.mark.parametrize("stop", list(POINTS))
async def test_killed_at_a_point_of_the_sale_the_next_start_delivers_it_once(served: ServedSandbox, tmp_path: Path, stop: str) -> None:
    word, status_at_kill, charged_at_kill = POINTS[stop]
    reference = f"DRILL-{stop.upper().replace('_', '-')}-1"
    child, path = start_sale(served, tmp_path, reference, stop)
    try:
        intent_id = child.wait_for("intent")[1]
        if word != "intent":
            child.wait_for(word)
    finally:
        lines = child.kill()
    assert not any(line.startswith("shown") for line in lines)

    at_kill = on_disk(path, reference)
    assert at_kill.id == intent_id and at_kill.status is status_at_kill
    assert len(charges(served.url)) == charged_at_kill
    if stop == "answered":
        assert at_kill.activation_code is None  # it was only in the dead process's memory, never shown
    if stop in ("before_send", "answered"):
        assert [c.event for c in at_kill.history] == ["INTENT", "SENT"]  # saved before the send

    settled, order = await start_app(path, served.url, reference)
    assert [o.id for o in settled] == ([] if stop == "delivered" else [intent_id])
    assert order.id == intent_id
    assert_delivered_once(order, served.url, reference)
    if stop == "delivered":
        assert order.activation_code == at_kill.activation_code  # the saved code is the one kept
    await assert_second_start_changes_nothing(path, served.url, reference, order)


async def book_held_answer(url: str) -> None:
    """The next create commits (charges) at once and holds its answer back far longer than any drill."""
    body = {"provider": "octopus", "endpoint": "create_order", "kind": "delay", "seconds": 60}
    response = httpx.post(f"{url}/_sandbox/faults", json=body, timeout=5)
    assert response.status_code == 200, response.text


def kill_in_flight(served: ServedSandbox, tmp_path: Path, reference: str) -> Path:
    """Sell with the answer held back; kill once the ledger shows the charge (sent, charged, unanswered)."""
    child, path = start_sale(served, tmp_path, reference, "none")
    try:
        child.wait_for("intent")
        for _ in range(2000):  # polls the sandbox's state; bounded, and the watchdog bounds the child
            if charges(served.url, reference):
                break
        else:
            raise AssertionError("the create never reached the sandbox")
    finally:
        lines = child.kill()
    assert not any(line.startswith(("placed", "shown")) for line in lines)
    return path


async def test_killed_while_the_answer_is_in_flight_the_next_start_finds_the_order(served: ServedSandbox, tmp_path: Path) -> None:
    reference = "DRILL-IN-FLIGHT-1"
    await book_held_answer(served.url)
    path = kill_in_flight(served, tmp_path, reference)
    at_kill = on_disk(path, reference)
    assert at_kill.status is OrderStatus.UNKNOWN and at_kill.activation_code is None
    settled, order = await start_app(path, served.url, reference)
    assert [o.id for o in settled] == [at_kill.id]
    assert_delivered_once(order, served.url, reference)  # found by reference, not sent again
    assert "FOUND" in [c.event for c in order.history]
    await assert_second_start_changes_nothing(path, served.url, reference, order)


def refused_url() -> str:
    """A loopback address where nothing listens: connection refused, the provider is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_provider_down_at_the_next_start_the_sale_waits_for_attention_then_settles(served: ServedSandbox, tmp_path: Path) -> None:
    reference = "DRILL-DOWN-AT-START-1"
    await book_held_answer(served.url)
    path = kill_in_flight(served, tmp_path, reference)

    settled, order = await start_app(path, refused_url(), reference)
    assert [o.id for o in settled] == [order.id]
    assert order.status is OrderStatus.UNKNOWN  # never FAILED: it was charged
    assert order.needs_attention and order.needs_attention.startswith(OUTCOME_UNKNOWN)
    assert "Octopus Cards" in order.needs_attention and "portal" in order.needs_attention
    assert order.activation_code is None
    assert len(charges(served.url)) == 1  # nothing blindly sent again

    settled, order = await start_app(path, served.url, reference)  # the provider is back
    assert [o.id for o in settled] == [order.id]
    assert_delivered_once(order, served.url, reference)
    await assert_second_start_changes_nothing(path, served.url, reference, order)


# ---------------------------------------------------------------- killed while writing the store


def acked(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("ack ")]


# Each run: how many saves the child acknowledges, then where the next save is killed: at once (no
# step: wherever it is), or parked at the nth os call of that name, one for each step of an atomic write.
RUNS = [
    (30, None, 0),
    (20, "open", 1),  # mkstemp: nothing written yet
    (25, "write", 1),  # the temporary file exists, empty
    (30, "fsync", 1),  # written, not yet synced
    (35, "replace", 1),  # synced, not yet renamed over the order file
    (40, "fsync", 2),  # renamed; the folder not yet synced
    (45, "replace", 2),  # this save moves an order: its second file, about to be renamed
]
TEMP_LEFT_AT = {("write", 1), ("fsync", 1), ("replace", 1), ("replace", 2)}


def test_killed_while_saving_in_a_loop_the_store_keeps_every_acknowledged_save(tmp_path: Path) -> None:
    """A child saves as fast as it can (new sales, updates, moves into and out of the archive) and is
    killed, run after run, at each step of an atomic write. After each kill every file parses, and
    every order holds its last acknowledged save (or the one cut short, if it got through), never an
    older one; the app's next start removes the unfinished temporary file."""
    from tests.drills.save_child import open_store, version

    path = tmp_path / "data" / "orders.json"
    last = -1  # the last save acknowledged by any run
    for acks, name, nth in RUNS:
        args = [str(path), str(last + 1)] + ([str(acks), name, str(nth)] if name else [])
        child = Child("tests.drills.save_child", *args)
        try:
            for _ in range(acks):
                child.wait_for("ack")
            if name:
                assert child.wait_for("parked")[1:] == [name, str(nth)]
        finally:
            lines = child.kill()
        done = acked(lines)
        assert done == list(range(last + 1, last + 1 + len(done))), "acknowledged out of order"
        last = done[-1]
        run = f"killed after {acks} saves at {name or 'once'} {nth or ''}"

        for f in path.parent.iterdir():
            if f.name.endswith((".json", ".bak")):
                file_state(f)  # every file parses: active, archive segments, index files, backups
        assert file_state(path), f"{run}: the active file is empty"
        temp_left = [f.name for f in path.parent.iterdir() if f.name.endswith(".tmp")]
        if name:  # parked at a known step: whether its temporary file is there is known too
            assert bool(temp_left) == ((name, nth) in TEMP_LEFT_AT), f"{run}: {temp_left}"
        else:  # killed at no chosen moment, maybe inside the next save's write: at most that one file
            assert len(temp_left) <= 1, f"{run}: {temp_left}"

        expected: dict[str, set[str]] = {}
        for i in range(last + 1):
            order = version(i)
            expected[order.id] = {order.customer_label}  # a later save replaces the earlier
        cut_short = version(last + 1)  # may have reached the disk just before the kill, unacknowledged
        expected.setdefault(cut_short.id, set()).add(cut_short.customer_label)
        with open_store(path) as store:  # the app starting again
            stored = {o.id: o for o in store.all()}
            assert store.count() == len(stored)
            assert stored.keys() <= expected.keys()
            for oid, labels in expected.items():
                if oid not in stored:
                    # Only a brand-new sale whose first save was cut short may be missing.
                    assert oid == cut_short.id and len(labels) == 1, f"{run}: {oid} was lost"
                    continue
                assert stored[oid].customer_label in labels, f"{run}: {oid} lost an acknowledged save"
                assert stored[oid].activation_code  # never dropped on the way in or out of the archive
        assert not [f.name for f in path.parent.iterdir() if f.name.endswith(".tmp")]
