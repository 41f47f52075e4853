"""Apps for UI tests: the in-process sandbox at a fixed time, a fresh order file, no live polling."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from textual.widgets import Input

from esim_tui.config import load_settings
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from esim_tui.store.orders import OrderStore
from esim_tui.ui.app import EsimApp
from esim_tui.ui.context import build_context
from tests.conftest import T0, make_sandbox


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch):
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


def references():
    counter = itertools.count(1)
    return lambda at, prefix: f"{prefix}-{at:%Y%m%d}-TEST{next(counter):04d}"


def make_app(tmp_path: Path, sandbox: Sandbox | None = None, *, follow: bool = False, environ: dict | None = None) -> EsimApp:
    settings = load_settings(None, environ=environ or {}, db=tmp_path / "orders.json")
    store = OrderStore.open(tmp_path / f"orders-{id(settings)}.json")
    ctx = build_context(settings, store=store, sandbox=sandbox or make_sandbox(), now=lambda: T0, force_sandbox=not environ)
    ctx.sales._mint = references()
    return EsimApp(ctx, follow=follow)


async def settle(pilot, app: EsimApp) -> None:
    """Let start-up and workers finish and the screen catch up."""
    await asyncio.wait_for(app.started.wait(), 20)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def fixed(at: datetime = T0):
    return lambda: at


async def choose_plan(pilot, app: EsimApp, destination: str = "Japan", plan: str = "Japan 1 GB / 7 days", provider: str = "octopus") -> None:
    """From the catalogue: type ``destination``, open it, move to ``provider``'s ``plan`` and choose it.
    By name, not by row: a country's list has the regional plans covering it sorted in by price
    (eSIM Go's Asia 1 GB comes before Octopus's Japan 1 GB)."""
    await settle(pilot, app)
    await pilot.press(*destination, "enter")
    await settle(pilot, app)
    await pick_plan(pilot, app, plan, provider)


async def pick_plan(pilot, app: EsimApp, plan: str = "Japan 1 GB / 7 days", provider: str = "octopus") -> None:
    """On the plans screen: move to ``provider``'s ``plan`` (by name) and choose it."""
    table = app.screen.query_one("#plans")
    at = next(i for i, p in enumerate(table.rows) if p.name == plan and p.provider.value == provider)
    await pilot.press(*["down"] * at, "enter")
    await settle(pilot, app)


async def to_confirmation(pilot, app: EsimApp) -> None:
    """From the catalogue: Japan, Octopus's cheapest plan for Japan itself (1 GB / 7 days), to the confirmation."""
    await choose_plan(pilot, app)


async def sell_japan(pilot, app: EsimApp) -> None:
    """The counter's whole sale: Japan, Enter, Enter, y."""
    await to_confirmation(pilot, app)
    await pilot.press("y")
    await settle(pilot, app)


async def sold_and_closed(pilot, app: EsimApp, sell=sell_japan):
    """Sell (``sell_japan`` or ``sell_esimgo_japan``), close the delivery with Escape; the order sold."""
    before = set(app.orders)
    await sell(pilot, app)
    (sold,) = [o for i, o in app.orders.items() if i not in before]
    await pilot.press("escape")
    return sold


async def sell_esimgo_japan(pilot, app: EsimApp) -> None:
    """The same sale with eSIM Go's 1 GB / 7 days for Japan."""
    await choose_plan(pilot, app, provider="esimgo")
    await pilot.press("y")
    await settle(pilot, app)


async def sandbox_request(sandbox: Sandbox, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as c:
        response = await c.request(method, path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


async def ledger(sandbox: Sandbox, provider: str = "octopus") -> list[dict]:
    """The provider's charges as the sandbox booked them."""
    return (await sandbox_request(sandbox, "GET", "/_sandbox/ledger"))[provider]["charges"]


async def sandbox_post(sandbox: Sandbox, path: str, body: dict | None = None) -> dict:
    return await sandbox_request(sandbox, "POST", path, body or {})


async def _no_wait(seconds: float) -> None:
    """Back-offs and Retry-After take no time here (they would only make the test slower)."""


def without_waits(app: EsimApp) -> EsimApp:
    """The app with every back-off and Retry-After wait of Sales and the adapters taking no time."""
    app.sales.sleep = _no_wait
    for provider in app.sales.providers.values():
        provider.http.sleep = _no_wait
    return app


async def esimgo_sale_meeting(pilot, app, sandbox, fault: dict, *, lookups_fail: bool = False) -> None:
    """eSIM Go Japan to the confirmation (its validate answered), then the transaction meets ``fault``
    (and, with ``lookups_fail``, eSIM Go cannot list its orders meanwhile)."""
    await choose_plan(pilot, app, provider="esimgo")
    await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "esimgo", "endpoint": "create_order", **fault})
    if lookups_fail:
        await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "esimgo", "endpoint": "list_orders", "kind": "error_503", "retry_after": "1", "count": 50})
    await pilot.press("y")
    await settle(pilot, app)


class Held:
    """A stand-in for a service call that answers ``answer`` only once released, so a busy state stays
    on screen for its snapshot; with ``then`` (the real call), it makes that call once released."""

    def __init__(self, answer=(), then=None) -> None:
        self.answer = answer
        self.then = then
        self.gate = asyncio.Event()

    async def __call__(self, *args, **kwargs):
        await self.gate.wait()
        return await self.then(*args, **kwargs) if self.then is not None else self.answer

    def release(self) -> None:
        self.gate.set()


# ---------------------------------------------------------------- run_before steps shared by the snapshot files


def post_now(sandbox: Sandbox, path: str, body: dict) -> None:
    """POST to the sandbox before the app runs (a fault or a clock move set up for a snapshot)."""

    async def go():
        async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as c:
            assert (await c.post(path, json=body)).status_code == 200

    asyncio.run(go())


async def ready(pilot) -> None:
    await settle(pilot, pilot.app)


def typed(*keys):
    """A run_before: once started, press ``keys`` and let the screen settle."""

    async def run(pilot):
        await settle(pilot, pilot.app)
        await pilot.press(*keys)
        await settle(pilot, pilot.app)

    return run


def confirmed(*keys):
    """A run_before: to the confirmation of Octopus's Japan 1 GB / 7 days, then ``keys``."""

    async def run(pilot):
        await to_confirmation(pilot, pilot.app)
        await pilot.press(*keys)
        await settle(pilot, pilot.app)

    return run


async def to_placing(pilot, app: EsimApp) -> None:
    """Japan to the confirmation, y, and not a moment more (the provider is made slow beforehand)."""
    await to_confirmation(pilot, app)
    await pilot.press("y")
    await pilot.pause()


async def to_orders_list(pilot, app: EsimApp) -> None:
    """Two sales (Octopus Cards and eSIM Go Japan), then F2."""
    await sell_japan(pilot, app)
    await pilot.press("escape")
    await sell_esimgo_japan(pilot, app)
    await pilot.press("escape", "f2")
    await settle(pilot, app)


async def to_detail(pilot, app: EsimApp, sandbox: Sandbox, *, used_bytes: int = 0) -> None:
    """Sell eSIM Go Japan, the customer installs it (and uses data), F2, find it, open, refresh."""
    sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
    await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/install")
    if used_bytes:
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": used_bytes})
    await pilot.press("f2")
    await settle(pilot, app)
    await pilot.press(*sold.iccid[-4:], "enter")
    await settle(pilot, app)
    await pilot.press("r")
    await settle(pilot, app)


async def to_refund_of_an_unstarted_bundle(pilot, app: EsimApp) -> None:
    """eSIM Go Japan delivered, not installed (its bundle not started): F2, open it, refresh, x."""
    await sell_esimgo_japan(pilot, app)
    await pilot.press("escape", "f2")
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)
    await pilot.press("r")
    await settle(pilot, app)
    await pilot.press("x")
    await settle(pilot, app)


async def to_unsettled_detail(pilot, app: EsimApp, sandbox: Sandbox, *, lookups_fail: bool = True) -> None:
    """An eSIM Go sale charged with its answer lost while eSIM Go could not list orders: its detail."""
    await esimgo_sale_meeting(pilot, app, sandbox, {"kind": "drop_after_commit"}, lookups_fail=lookups_fail)
    sold = next(iter(app.orders.values()))
    await pilot.press("escape", "f2")
    await settle(pilot, app)
    await pilot.press(*sold.client_reference, "enter")
    await settle(pilot, app)


async def to_settle_choosing(pilot, app: EsimApp, sandbox: Sandbox) -> None:
    """a on a sale needing attention, eSIM Go answering again: its possible orders; Enter on the first."""
    await to_unsettled_detail(pilot, app, sandbox)
    await sandbox_request(sandbox, "DELETE", "/_sandbox/faults")
    await pilot.press("a")
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)


#: The fault that makes an Octopus Cards order fail in a way the customer can fix (another plan).
PLAN_UNAVAILABLE = {
    "provider": "octopus",
    "endpoint": "create_order",
    "kind": "fail",
    "failure_code": "PLAN_UNAVAILABLE",
    "failure_reason": "The plan is no longer available",
    "is_user_fixable": True,
}


async def a_day_later(pilot, app) -> None:
    """The clock a day and a minute on, and the panel's minute tick: finished orders (expired,
    refunded) have left Orders in play by then (ui.keep_finished_hours)."""
    from datetime import timedelta

    app.sales.now = lambda: T0 + timedelta(hours=24, minutes=1)
    app.catalogue_screen.query_one("#status-panel").recheck()
    await pilot.pause()
