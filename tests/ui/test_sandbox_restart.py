"""A trainee quits and starts the app again: the sales made on the sandbox before are still followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from esim_tui.config import load_settings
from esim_tui.domain.orders import OrderStatus
from esim_tui.sandbox.app import Sandbox, state_file_beside
from esim_tui.store.orders import OrderStore
from esim_tui.ui.app import EsimApp
from esim_tui.ui.context import build_context, sandbox_order_file
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.top_up import TopUpScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import T0, make_sandbox
from tests.ui.conftest import references, sandbox_post, sell_esimgo_japan, settle, sold_and_closed

pytestmark = pytest.mark.anyio


def start_app(tmp_path: Path) -> tuple[EsimApp, Sandbox]:
    """The app as ``esim-tui`` starts it on the sandbox: its order file, and the state file beside it."""
    settings = load_settings(None, environ={}, db=tmp_path / "orders.json")
    orders = sandbox_order_file(settings)
    sandbox = Sandbox(make_sandbox().config, state_file=state_file_beside(orders))
    ctx = build_context(settings, store=OrderStore.open(orders), sandbox=sandbox, now=lambda: T0, force_sandbox=True)
    ctx.sales._mint = references()
    return EsimApp(ctx, follow=False), sandbox


async def test_a_sale_made_before_a_restart_is_still_followed_topped_up_and_not_lost(tmp_path):
    app, sandbox = start_app(tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        assert sold.status is OrderStatus.DELIVERED
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/install")
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": 250_000_000})
    app.ctx.close()
    assert state_file_beside(tmp_path / "orders-sandbox.json").exists()

    app, _ = start_app(tmp_path)  # a new process: a new sandbox, from the same files
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        await pilot.press("escape", *sold.iccid[-4:], "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == sold.id
        await pilot.press("r")  # ask the provider now
        await settle(pilot, app)
        assert app.screen.error == ""  # no "no such order"
        assert app.screen.order.is_installed
        [bundle] = app.screen.query_one("#bundles", OfferTable).rows
        assert bundle.remaining_bytes == bundle.initial_bytes - 250_000_000
        await pilot.press("t")  # eSIM Go still knows the eSIM, so it can say which bundles fit it
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpScreen)
        assert app.screen.query_one("#plans", OfferTable).rows
    app.ctx.close()
