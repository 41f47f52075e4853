"""The start of ``esim-tui``: the first screen painted from the saved destination list, the services
built after that paint, and a start that cannot get its services saying why."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import Static

from esim_tui.config import load_settings
from esim_tui.config_file import ConfigError, FirstLook
from esim_tui.services.catalogue_cache import catalogue_file, read_index
from esim_tui.store.orders import OrderStore
from esim_tui.ui.app import Boot, EsimApp
from esim_tui.ui.context import build_context
from esim_tui.ui.screens.plans import PlansScreen
from tests.conftest import T0, make_sandbox
from tests.ui.conftest import Held, references, settle

pytestmark = pytest.mark.anyio

SIZE = (100, 30)


def first_look(tmp_path: Path) -> FirstLook:
    return FirstLook(order_file=tmp_path / "orders-sandbox.json", providers=("esimgo", "octopus"), on_sandbox=True)


class Services:
    """What ``cli._services`` builds (the in-process sandbox, the order store), once ``gate`` opens."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.gate = threading.Event()

    def __call__(self):
        assert self.gate.wait(20), "the test never let the services start"
        settings = load_settings(None, environ={}, db=self.tmp_path / "orders.json")
        ctx = build_context(settings, sandbox=make_sandbox(), now=lambda: T0, force_sandbox=True)
        ctx.sales._mint = references()
        return ctx


def booting_app(tmp_path: Path, build=None) -> EsimApp:
    return EsimApp(boot=Boot(first_look(tmp_path), build or Services(tmp_path)), follow=False)


async def run_to_the_end(app: EsimApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        app.boot.build.gate.set()
        await settle(pilot, app)
    app.built.close()


def notice(app: EsimApp) -> str:
    return str(app.catalogue_screen.query_one("#catalogue-message", Static).content)


async def test_a_first_start_loads_the_catalogue_and_saves_its_destinations(tmp_path):
    app = booting_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.catalogue_screen.table.rows == ()  # nothing saved yet: the catalogue is loading
        app.boot.build.gate.set()
        await settle(pilot, app)
        shown = [line.cells for line in app.catalogue_screen.table.rows]
        assert len(shown) == len(app.catalogue.offers) > 100
    app.built.close()
    saved, _ = read_index(catalogue_file(tmp_path / "orders-sandbox.json"), ["octopus", "esimgo"])
    assert [line.cells for line in saved.lines] == shown


async def test_the_next_start_is_searchable_before_the_providers_answer(tmp_path):
    await run_to_the_end(booting_app(tmp_path))  # yesterday's run saved the list
    app = booting_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.catalogue_screen
        assert app.sales is None  # the services are still being built
        assert len(screen.table.rows) > 100 and "asking the providers for their plans" in notice(app)
        await pilot.press(*"south korea")
        await pilot.pause()
        assert screen.table.highlighted.name == "South Korea"
        await pilot.press("f2")  # the order records are not open yet
        await pilot.pause()
        assert app.current_mode == "sell"
        await pilot.press("enter")  # chosen before its plans arrived
        await pilot.pause()
        assert app.screen is screen
        app.boot.build.gate.set()
        await asyncio.wait_for(app.started.wait(), 20)
        await pilot.pause()
        assert isinstance(app.screen, PlansScreen) and app.screen.offer.destination.code == "KR"
        assert notice(app) == ""
        await pilot.press("escape", "f2")
        await pilot.pause()
        assert app.current_mode == "orders"
    app.built.close()


async def test_a_mistake_in_the_settings_stops_the_app_and_says_where(tmp_path):
    def build():
        raise ConfigError(tmp_path / "config.toml", "octopus.tokn", "extra inputs are not permitted")

    app = booting_app(tmp_path, build)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    assert app.return_code == 2
    assert app.fatal == f"Configuration error in {tmp_path / 'config.toml'}, key 'octopus.tokn': extra inputs are not permitted. Fix it and start again."


async def test_a_second_instance_stops_and_says_so(tmp_path):
    first = OrderStore.open(tmp_path / "orders-sandbox.json")
    services = Services(tmp_path)
    services.gate.set()
    app = booting_app(tmp_path, services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await asyncio.wait_for(app.started.wait(), 20)
            await pilot.pause()
    finally:
        first.close()
    assert app.return_code == 1 and app.built is None
    assert "is in use: another esim-tui is using it" in app.fatal, app.fatal


def test_snapshot_the_saved_destinations_while_the_providers_are_asked(snap_compare, tmp_path, monkeypatch):
    """The first paint of a start: yesterday's destinations, searchable, and the plans on their way."""
    import time
    from datetime import UTC, datetime

    from esim_tui.services.catalogue_cache import save_index
    from tests.services.test_catalogue_cache import catalogue

    monkeypatch.setenv("TZ", "UTC")  # the notice says the shop's local time
    time.tzset()
    save_index(catalogue_file(tmp_path / "orders-sandbox.json"), catalogue().index, ["esimgo", "octopus"], datetime(2026, 11, 29, 18, 5, tzinfo=UTC))

    def services_without_plans():
        services = Services(tmp_path)
        services.gate.set()
        ctx = services()
        for provider in ctx.sales.providers.values():
            provider.plans = Held()  # the providers never answer while the picture is taken
        return ctx

    app = booting_app(tmp_path, services_without_plans)

    async def run_before(pilot):
        for _ in range(200):  # the services are up (F2 shows), the plans not yet
            if app.sales is not None:
                break
            await asyncio.sleep(0.05)
        await pilot.pause()
        await pilot.press(*"ja")
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        if app.built is not None:
            app.built.close()
    monkeypatch.undo()
    time.tzset()


def test_on_the_sandbox_the_records_follow_its_clock(tmp_path):
    """Training: after "a week passes" a top-up or an install is noted a week on, not at the wall clock."""
    from datetime import timedelta

    sandbox = make_sandbox()
    ctx = build_context(load_settings(None, environ={}, db=tmp_path / "orders.json"), sandbox=sandbox, force_sandbox=True)
    try:
        assert ctx.now() == T0 and ctx.sales.now() == T0
        sandbox.state.clock.advance(7 * 86400)
        assert ctx.now() == ctx.sales.now() == T0 + timedelta(days=7)
    finally:
        ctx.close()
