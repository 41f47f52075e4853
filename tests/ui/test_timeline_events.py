"""The desk's own actions on an order are on its timeline: showing the QR again (s), copying the code
(c), exporting it (e) and a refund looked into and asked for (x, y), each time with its time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.export import ExportScreen
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.refund import RefundScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import T0, make_sandbox
from tests.ui.conftest import make_app, sell_esimgo_japan, settle, sold_and_closed

pytestmark = pytest.mark.anyio


async def _open(pilot, app, order) -> None:
    """F2, the order's client reference, Enter: its detail."""
    await pilot.press("f2")
    await settle(pilot, app)
    await pilot.press("escape", *order.client_reference, "enter")
    await settle(pilot, app)
    assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == order.id


def _timeline(app) -> list[tuple[str, str]]:
    return [(row.event, row.detail) for row in app.screen.query_one("#timeline", OfferTable).rows]


def _at(app, minutes: int) -> None:
    app.sales.now = lambda: T0 + timedelta(minutes=minutes)


async def test_show_again_copy_and_export_are_on_the_timeline_each_time(tmp_path):
    app = make_app(tmp_path, make_sandbox())
    async with app.run_test(size=(120, 40)) as pilot:
        sold = await sold_and_closed(pilot, app)
        await _open(pilot, app, sold)
        assert [e for e, _ in _timeline(app)].count("Activation code shown") == 1  # at the sale

        for minutes in (1, 2):  # s, then c on the QR, twice
            _at(app, minutes)
            await pilot.press("s")
            await settle(pilot, app)
            assert isinstance(app.screen, DeliveryScreen)
            await pilot.press("c")
            await settle(pilot, app)
            await pilot.press("escape")
            await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        events = [e for e, _ in _timeline(app)]
        assert events.count("Activation code shown again") == 2 and events.count("Activation code copied") == 2
        assert events[-4:] == ["Activation code shown again", "Activation code copied"] * 2  # in time order

        _at(app, 3)
        await pilot.press("e")
        await settle(pilot, app)
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-folder").value = str(tmp_path / "ana")
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        event, detail = _timeline(app)[-1]
        assert event == "QR and install links exported" and detail.endswith(f"files in {tmp_path / 'ana'}")
        rows = app.screen.query_one("#timeline", OfferTable).rows
        assert rows[-1].at == T0 + timedelta(minutes=3)


async def test_a_refund_looked_into_and_asked_for_is_on_the_timeline(tmp_path):
    app = make_app(tmp_path, make_sandbox())
    async with app.run_test(size=(120, 40)) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)  # not installed: its bundle unstarted
        await _open(pilot, app, sold)
        await pilot.press("r")  # its bundle, from eSIM Go
        await settle(pilot, app)
        _at(app, 1)
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, RefundScreen)
        await pilot.press("escape")  # the customer thinks again
        await settle(pilot, app)
        looked = [d for e, d in _timeline(app) if e == "Refund looked into"]
        assert len(looked) == 1 and "would be refunded" in looked[0]

        _at(app, 2)
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        events = [e for e, _ in _timeline(app)]
        assert events.count("Refund looked into") == 2
        assert events.index("Refund asked for") < events.index("Refunded")
