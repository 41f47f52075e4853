"""kill -9 of the real app in the middle of a sale, then the app started again on the same order file.

``esim-tui`` runs as a subprocess on a 120×40 pseudo-terminal against the sandbox served on loopback
(both providers configured, as a shop would), and the test sells as the agent does: ``Japan``, Enter,
Enter, ``y``. The app is killed with SIGKILL at one point of the sale and started again with the same
settings; the test reads the screen as the agent would. Each drill ends with what the shop relies on:

- the sandbox ledger holds exactly one charge for every sale the agent confirmed (pressed ``y``) and
  none for any other;
- every order the provider delivered has its activation code in the order file;
- after the restart the agent sees the sale once, and its QR (read back from the screen's cells and
  compared module by module) when the code was delivered but never shown; a further start shows it
  once more in the panel and neither charges nor shows the QR again.

Where the outside world cannot time a point, something holds the sale there and says so: the sandbox
``delay`` fault (charged, answer held), ``Gate`` in front of the sandbox (the create held at the
provider's door, not yet handed to it), or the app's own store hooked by ``tests.drills.app_pty``
(parked just before or just after the code is written). No drill sleeps for a guessed time.

Not here: the provider down at the restart ends in "needs attention" only after the app's look-up
back-offs (12 s of real waiting); ``test_kill_drills.py`` drills it on the same code path with the waits
taken out.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from esim_tui.domain.money import Money, format_money
from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.sandbox.app import Sandbox
from esim_tui.sandbox.core import SandboxConfig
from esim_tui.services.qr import qr_matrix
from esim_tui.store.orders import OrderStore
from tests.conftest import ServedSandbox
from tests.drills import TOKEN, charges, provider_code
from tests.drills.app_pty import AppOnPty, Terminal

pytestmark = [pytest.mark.slow]

PLACING = "Placing the order with Octopus Cards"
NEVER_SHOWN = "was never shown; showing it now"
#: The top bar's balances come last in the start-up: earlier sales settled, the panel and QR shown.
STARTED = f"eSIM Go {format_money(Money(amount=SandboxConfig().esimgo_balance))}"


class Gate:
    """The provider's front door, as ASGI around the sandbox. It passes everything through, except
    that once armed it holds the next order create, read in full but not yet handed to the provider,
    until the test lets it land (the provider commits it then, answering whoever still listens) or
    loses it (the provider never sees it)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.held = threading.Event()
        self.landed = threading.Event()
        self.answer: int | None = None  # the provider's status for the held create, once it landed
        self._armed = False
        self._open = threading.Event()
        self._land = False

    def arm(self) -> None:
        self._armed = True

    def release(self, *, land: bool) -> None:
        self._land = land
        self._open.set()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        creating = scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/esim/orders")
        if not (creating and self._armed):
            await self.app(scope, receive, send)
            return
        self._armed = False
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.held.set()
        while not self._open.is_set():
            await asyncio.sleep(0.01)  # a thread-safe wait that never outlives the server's loop
        if not self._land:
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def answer(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.answer = message["status"]
            await send(message)

        try:
            await self.app(scope, replay, answer)
        finally:
            self.landed.set()


@dataclass
class Counter:
    """The shop under drill: the served sandbox behind its gate, and the app's settings."""

    url: str
    gate: Gate
    env: dict[str, str]
    path: Path

    def start(self, *, stop: str | None = None) -> AppOnPty:
        """The app as the agent starts it (with ``stop``: hooked to park there, see app_pty)."""
        return AppOnPty(self.env, stop=stop)

    def orders(self) -> list[Order]:
        """What the order file holds now, read as ``esim-tui orders`` does (no lock, works while the app runs)."""
        with OrderStore.open(self.path, read_only=True) as store:
            return list(store.all())

    def paid(self) -> list[dict]:
        return charges(self.url) + charges(self.url, provider="esimgo")


@pytest.fixture
def counter(sandbox: Sandbox, tmp_path: Path) -> Iterator[Counter]:
    gate = Gate(sandbox.app)
    home = tmp_path / "home"
    path = tmp_path / "shop" / "orders.json"
    with ServedSandbox(SimpleNamespace(app=gate)) as served:  # type: ignore[arg-type]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            **{f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "DATA", "CACHE", "STATE")},
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LANG": "C.UTF-8",
            "ESIM_TUI_OCTOPUS_URL": served.url,
            "ESIM_TUI_OCTOPUS_TOKEN": TOKEN,
            "ESIM_TUI_ESIMGO_URL": f"{served.url}/v2.4",
            "ESIM_TUI_ESIMGO_API_KEY": TOKEN,
            "ESIM_TUI_DB": str(path),
        }
        try:
            yield Counter(served.url, gate, env, path)
        finally:
            gate.release(land=False)
            # A killed app leaves the sandbox holding a delayed answer; do not wait for it at shutdown.
            served.server.force_exit = True


def wait_until(check: Callable[[], object], what: str, timeout: float = 10.0) -> Any:
    """Poll ``check`` (the ledger, the order file) until it gives something true; bounded."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)
    return found


# ---------------------------------------------------------------- the agent at the counter


def japan_first(terminal: Terminal) -> bool:
    """the catalogue filtered on "Japan", Japan the first (highlighted) row"""
    lines = terminal.lines()
    header = next((i for i, line in enumerate(lines) if line.startswith("Destination ")), None)
    return header is not None and "Japan" in lines[header - 2] and lines[header + 1].startswith("Japan ")


def quoted(terminal: Terminal) -> str:
    """the confirmation screen with the provider's quote"""
    screen = terminal.text()
    return screen if "Confirm the sale" in screen and "asking the provider" not in screen else ""


def to_confirmation(app: AppOnPty) -> str:
    """From launch: type Japan, Enter, Down, Enter (Octopus's Japan 1 GB, second by price after eSIM Go's
    Asia 1 GB, which covers Japan). Returns the client reference shown."""
    app.wait_for("Orders in play")
    app.press(*"Japan")
    app.wait_for(japan_first)
    app.press("enter")
    app.wait_for("Octopus Cards Japan 1 GB / 7 days")
    app.press("down", "enter")
    screen = app.wait_for(quoted)
    assert re.search(r"Provider +Octopus Cards", screen), screen
    reference = re.search(r"Client reference +(ESIM-[0-9A-Z-]+)", screen)
    assert reference, screen
    return reference.group(1)


def buy(app: AppOnPty) -> None:
    app.press("y")
    app.wait_for(PLACING)  # what the agent sees while the sale is in the air


def sale_on_file(counter: Counter, reference: str) -> Order:
    orders = counter.orders()
    assert [o.client_reference for o in orders] == [reference], "the order file should hold this one sale"
    return orders[0]


# ---------------------------------------------------------------- what must hold at the end


def assert_invariants(counter: Counter, confirmed: list[str]) -> None:
    """One charge for every confirmed sale, none for any other; every delivered code on file."""
    paid = counter.paid()
    assert sorted(c["client_reference"] for c in paid) == sorted(confirmed), f"charges: {paid}"
    assert not any(c["refunded"] for c in paid)
    on_file = {o.provider_order_id: o for o in counter.orders() if o.provider_order_id}
    for charge in paid:
        order = on_file.get(charge["order_id"])
        assert order is not None, f"provider order {charge['order_id']} was charged and is not on file"
        assert order.status is OrderStatus.DELIVERED and order.needs_attention is None
        assert order.activation_code == provider_code(counter.url, charge["order_id"])


def shows_qr_of(order: Order) -> Callable[[Terminal], bool]:
    """A test on the screen: the QR of this order's activation code is drawn, whole and exact."""
    expected = [tuple(row) for row in qr_matrix(order.activation.lpa).rows]

    def check(terminal: Terminal) -> bool:
        """the QR of the order's activation code, whole and exact"""
        modules = terminal.qr_modules()
        # The compact form pairs module rows; an odd last one is paired with a light (quiet zone) row.
        return modules is not None and modules[: len(expected)] == expected and not any(any(r) for r in modules[len(expected) :])

    return check


def restart_and_check(counter: Counter, reference: str) -> Order:
    """Start the app again on the same order file: it settles the sale and shows the QR it never
    showed, from the code on file, and records that it did. Then one more start: the sale is in the
    panel once, and nothing is charged or shown again."""
    with counter.start() as app:
        app.wait_for(NEVER_SHOWN)
        order = sale_on_file(counter, reference)  # the code is on file before anything shows it
        assert order.status is OrderStatus.DELIVERED and order.activation_code and order.iccid
        app.wait_for(shows_qr_of(order))
        screen = app.wait_for(order.iccid)
        assert screen.count(order.iccid) == 1 and screen.count(reference) == 1 and "Delivered, not installed" in screen
        shown = wait_until(lambda: sale_on_file(counter, reference).shown_at, "the QR recorded as shown")
        assert_invariants(counter, [reference])
        app.kill()

    with counter.start() as app:
        screen = app.wait_for(STARTED)
        panel = screen.split("Orders in play", 1)[1]
        rows = [line for line in panel.splitlines() if f"…{order.iccid[-4:]}" in line]
        assert len(rows) == 1 and "Delivered, not install" in rows[0], panel  # the column cuts it short
        assert NEVER_SHOWN not in screen and app.qr_modules() is None
        final = sale_on_file(counter, reference)
        assert final.shown_at == shown and final.activation_code == order.activation_code
        assert_invariants(counter, [reference])
        app.kill()
    return final


def events(order: Order) -> list[str]:
    return [change.event for change in order.history]


# ---------------------------------------------------------------- the drills


def test_killed_on_the_confirmation_screen_nothing_is_charged_or_kept(counter: Counter) -> None:
    """Point 1, before the agent confirms: the sale exists nowhere, and the next start shows none."""
    with counter.start() as app:
        reference = to_confirmation(app)
        app.kill()
    assert counter.orders() == [] and counter.paid() == []

    with counter.start() as app:
        screen = app.wait_for(STARTED)
        assert "No orders in play" in screen and reference not in screen and app.qr_modules() is None
        app.kill()
    assert counter.orders() == []
    assert_invariants(counter, [])


@pytest.mark.parametrize("lands", ["never", "before the restart", "after the restart"])
def test_killed_with_the_create_at_the_providers_door(counter: Counter, lands: str) -> None:
    """Points 1 and 2: the agent pressed y and the create left the app, but the provider has not
    received it (it is held at the door). Then it never arrives (the restart sends it again under the
    same reference), lands while the app is down (the restart finds it), or lands after the restart
    sent it again (the provider refuses the duplicate reference). One charge in every case."""
    counter.gate.arm()
    with counter.start() as app:
        reference = to_confirmation(app)
        buy(app)
        assert counter.gate.held.wait(10), "the create never reached the provider's door"
        app.kill()
    at_kill = sale_on_file(counter, reference)
    assert at_kill.status is OrderStatus.UNKNOWN and events(at_kill) == ["INTENT", "SENT"]  # saved before it left
    assert counter.paid() == []

    if lands == "before the restart":
        counter.gate.release(land=True)
        wait_until(counter.paid, "the late create charged")
    order = restart_and_check(counter, reference)
    assert ("FOUND" in events(order)) == (lands == "before the restart")
    counter.gate.release(land=lands == "after the restart")
    if lands == "after the restart":
        assert counter.gate.landed.wait(10), "the held create never reached the provider"
        assert counter.gate.answer == 400  # "Duplicate client_reference": the restart's create was the same sale
    assert_invariants(counter, [reference])


def test_killed_after_the_charge_before_the_answer(counter: Counter) -> None:
    """Point 3: the provider charged and holds its answer; the app dies waiting for it. The restart
    finds the order by its reference, sends nothing, and shows the QR."""
    fault = {"provider": "octopus", "endpoint": "create_order", "kind": "delay", "seconds": 60}
    booked = httpx.post(f"{counter.url}/_sandbox/faults", json=fault, timeout=5)
    assert booked.status_code == 200, booked.text
    with counter.start() as app:
        reference = to_confirmation(app)
        buy(app)
        wait_until(lambda: charges(counter.url, reference), "the charge on the ledger")
        assert PLACING in app.screen()
        app.kill()
    at_kill = sale_on_file(counter, reference)
    assert at_kill.status is OrderStatus.UNKNOWN and at_kill.activation_code is None

    order = restart_and_check(counter, reference)
    assert "FOUND" in events(order)


@pytest.mark.parametrize("stop", ["answered", "saved"])
def test_killed_around_the_write_of_the_code(counter: Counter, stop: str) -> None:
    """Point 4, and the moment after it. ``answered``: the provider's answer with the code is in the
    app's memory, not on file. ``saved``: the code is on file and nothing has shown it. The restart
    shows the QR either way: from the provider's order found by reference, or from the file."""
    with counter.start(stop=stop) as app:
        reference = to_confirmation(app)
        buy(app)
        order_id = app.wait_parked()
        assert PLACING in app.screen() and app.qr_modules() is None
        app.kill()
    at_kill = sale_on_file(counter, reference)
    assert at_kill.id == order_id and at_kill.shown_at is None
    assert len(charges(counter.url, reference)) == 1
    if stop == "answered":
        assert at_kill.status is OrderStatus.UNKNOWN and at_kill.activation_code is None
    else:
        assert at_kill.status is OrderStatus.DELIVERED and at_kill.activation_code

    order = restart_and_check(counter, reference)
    if stop == "answered":
        assert "FOUND" in events(order)
    else:
        assert order.activation_code == at_kill.activation_code  # the code on file is the one shown
        assert "OUTCOME UNKNOWN" not in events(order)  # nothing to settle: it was delivered
