"""The counter never hands over the wrong eSIM: the highlight follows the order, never a row index.

Each route that changes a list under the agent's cursor (a poll, a PENDING order completing, an
order leaving, a save while F2 is filtered) keeps the order highlighted, or highlights nothing and
says so; F2 opens afresh from any screen; a returning customer's eSIM is topped up from Sell."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import OrderKind, OrderStatus
from esim_tui.services.support import OrderFilter
from esim_tui.ui.screens.catalogue import CatalogueScreen
from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.orders import OrdersScreen
from esim_tui.ui.screens.top_up import TopUpScreen
from esim_tui.ui.screens.top_up_finder import TopUpFinderScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from esim_tui.ui.widgets.status_panel import ORDER_LEFT
from tests.conftest import make_sandbox
from tests.ui.conftest import (
    a_day_later,
    ledger,
    make_app,
    sandbox_post,
    sell_esimgo_japan,
    sell_japan,
    settle,
    sold_and_closed,
)

pytestmark = pytest.mark.anyio

SIZE = (110, 34)


def _panel(app) -> OfferTable:
    return app.catalogue_screen.query_one("#orders-in-play", OfferTable)


def _said(app, text: str) -> bool:
    return any(n.message == text for n in app._notifications)


async def _poll(pilot, app, order) -> None:
    """What the app's own polling does for one order (the tests do not poll live)."""
    result = await app.follower.poll(app.orders[order.id])
    app.order_changed(result.order, result.error.message if result.error else None)
    await settle(pilot, app)


async def _to_panel(pilot, app) -> None:
    """From the catalogue's search onto the Orders in play list, as the agent tabs there."""
    await pilot.press("tab", "tab")
    await pilot.pause()
    assert app.focused is _panel(app)


async def _pending_sale(pilot, app, sandbox):
    """A sale Octopus takes 30 s to prepare: it is in play, PENDING."""
    await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "pending", "seconds": 30})
    before = set(app.orders)
    await sell_japan(pilot, app)
    (pending,) = [o for i, o in app.orders.items() if i not in before]
    assert pending.status is OrderStatus.PENDING and isinstance(app.screen, CatalogueScreen)
    return pending


async def test_a_poll_updating_another_order_keeps_the_highlighted_one_and_enter_opens_it(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        first = await sold_and_closed(pilot, app)
        second = await sold_and_closed(pilot, app)
        await _to_panel(pilot, app)
        await pilot.press("down")  # the first customer's, below the newer sale
        assert _panel(app).highlighted.id == first.id
        await sandbox_post(sandbox, f"/_sandbox/esims/{second.iccid}/install")
        await _poll(pilot, app, second)
        assert app.orders[second.id].is_installed  # the other row did change
        assert _panel(app).highlighted.id == first.id
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.order.id == first.id


async def test_a_new_sale_and_a_pending_order_completing_leave_the_highlight_on_its_order(tmp_path):
    """The route of the report: new orders come in above the highlighted one, one completes; Enter
    still opens the order the agent highlighted, not whatever now sits in its row."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        first = await sold_and_closed(pilot, app)
        assert _panel(app).highlighted.id == first.id  # the only order, in the first row
        pending = await _pending_sale(pilot, app, sandbox)
        panel = _panel(app)
        assert [o.id for o in panel.rows] == [pending.id, first.id]
        assert panel.highlighted.id == first.id  # moved down a row with its order
        await sandbox_post(sandbox, "/_sandbox/clock", {"advance_seconds": 31})
        await _poll(pilot, app, pending)
        assert app.orders[pending.id].status is OrderStatus.DELIVERED
        assert panel.highlighted.id == first.id
        await _to_panel(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.order.id == first.id
        assert app.screen.order.activation_code == first.activation_code


async def test_the_highlighted_order_refunded_leaves_nothing_highlighted_and_enter_says_so(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": 100_000_000})  # its bundle started
        await pilot.press("ctrl+t", *sold.iccid[-4:], "enter")  # top it up from Sell
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        (top_up,) = [o for o in app.orders.values() if o.kind is OrderKind.TOP_UP]
        assert isinstance(app.screen, CatalogueScreen)
        await _to_panel(pilot, app)
        panel = _panel(app)
        steps = [o.id for o in panel.rows].index(top_up.id) - panel.cursor
        await pilot.press(*["down" if steps > 0 else "up"] * abs(steps))
        assert panel.highlighted.id == top_up.id

        # The desk refunds the queued top-up (F2, the eSIM, its second bundle, x, y).
        await pilot.press("f2")
        await settle(pilot, app)
        await pilot.press(*sold.client_reference, "enter")
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app)
        await pilot.press("down", "x")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert (await app.sales.order(top_up.id)).refunded

        await pilot.press("f3")
        await settle(pilot, app)
        assert panel.highlighted.id == top_up.id  # refunded, it stays a day (ui.keep_finished_hours)
        await a_day_later(pilot, app)
        assert [o.id for o in panel.rows] == [sold.id]  # then the refunded top-up leaves the panel
        assert panel.highlighted is None and panel.left  # nothing highlighted: not the other order
        await _to_panel(pilot, app)
        app.clear_notifications()
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is app.catalogue_screen  # nothing opened
        assert _said(app, ORDER_LEFT)
        # The training commands on "this eSIM" act on nothing either.
        app.clear_notifications()
        await app.train("install")
        await pilot.pause()
        assert _said(app, ORDER_LEFT)
        assert not any("installed the eSIM" in n.message for n in app._notifications)
        # Down highlights the first order again, and Enter opens that one.
        await pilot.press("down")
        assert panel.highlighted.id == sold.id
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.order.id == sold.id


async def test_f2_filtered_keeps_the_highlighted_order_through_a_save_and_empties_when_it_leaves(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        first = await sold_and_closed(pilot, app)
        second = await sold_and_closed(pilot, app)
        pending = await _pending_sale(pilot, app, sandbox)
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, OrdersScreen)
        await pilot.press("f4", "f4")
        assert screen.filter is OrderFilter.DELIVERED
        assert [r.id for r in screen.table.rows] == [second.id, first.id]
        await pilot.press("down")
        assert screen.table.highlighted.id == first.id

        # The PENDING sale is delivered and saved: it joins the filtered list above the highlight.
        await sandbox_post(sandbox, "/_sandbox/clock", {"advance_seconds": 31})
        await _poll(pilot, app, pending)
        assert [r.id for r in screen.table.rows] == [pending.id, second.id, first.id]
        assert screen.table.highlighted.id == first.id
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == first.id
        await pilot.press("escape")
        await settle(pilot, app)

        # The customer installs it: a poll files it under Installed, out of this filter.
        await sandbox_post(sandbox, f"/_sandbox/esims/{first.iccid}/install")
        await _poll(pilot, app, first)
        assert [r.id for r in screen.table.rows] == [pending.id, second.id]
        assert screen.table.highlighted is None
        app.clear_notifications()
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen and _said(app, ORDER_LEFT)
        # A later save does not quietly highlight another order either.
        await sandbox_post(sandbox, f"/_sandbox/esims/{second.iccid}/install")
        await _poll(pilot, app, second)
        assert [r.id for r in screen.table.rows] == [pending.id] and screen.table.highlighted is None
        await pilot.press("up")  # from nothing highlighted: Up goes to the last row
        assert screen.table.highlighted.id == pending.id


async def test_typing_a_search_still_highlights_the_first_match(tmp_path):
    """A fresh search is the agent's own doing: the first match is highlighted, not nothing."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        first = await sold_and_closed(pilot, app)
        await sold_and_closed(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        await pilot.press("down")
        await pilot.press(*first.iccid[-4:])
        await settle(pilot, app)
        assert app.screen.table.highlighted.id == first.id
        await pilot.press("f3")
        await settle(pilot, app)
        await pilot.press(*"fra")
        await pilot.pause()
        assert app.catalogue_screen.table.highlighted.code == "FR"


async def test_f2_opens_the_whole_list_at_its_top_with_an_empty_search_from_sell_and_from_a_detail(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        first = await sold_and_closed(pilot, app)
        second = await sold_and_closed(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, OrdersScreen)

        def afresh() -> None:
            assert app.screen is screen and app.focused.id == "order-search"
            assert screen.query_one("#order-search").value == "" and screen.filter is OrderFilter.ALL
            assert [r.id for r in screen.table.rows] == [second.id, first.id]
            assert screen.table.cursor == 0 and screen.table.scroll_y == 0

        # A search left typed, the agent back to selling: F2 does not show that customer again.
        await pilot.press(*first.iccid[-4:])
        await settle(pilot, app)
        assert [r.id for r in screen.table.rows] == [first.id]
        await pilot.press("f3")
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        afresh()

        # From an order's detail, found with a filter and a search: F2 is the whole list again.
        await pilot.press("f4", "f4", *first.iccid[-4:], "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == first.id
        await pilot.press("f2")
        await settle(pilot, app)
        afresh()


async def test_from_sell_a_returning_customer_esim_is_found_by_its_iccid_tail_and_topped_up(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        await sold_and_closed(pilot, app)  # another customer's eSIM, left out by the search
        assert isinstance(app.screen, CatalogueScreen) and app.current_mode == "sell"
        await pilot.press("ctrl+t")
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpFinderScreen) and app.focused.id == "esim-search"
        assert len(app.screen.table.rows) == 2
        await pilot.press(*sold.iccid[-4:])
        await settle(pilot, app)
        assert [r.id for r in app.screen.table.rows] == [sold.id]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpScreen) and app.screen.order.id == sold.id
        offered = app.screen.query_one("#plans", OfferTable).rows
        assert offered and all(p.provider.value == "esimgo" for p in offered)
        charges_before = len(await ledger(sandbox, "esimgo"))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen) and app.screen.top_up_of.id == sold.id
        chosen = app.screen.plan
        await pilot.press("y")
        await settle(pilot, app)
        assert len(await ledger(sandbox, "esimgo")) == charges_before + 1  # charged once
        (top_up,) = [o for o in app.orders.values() if o.kind is OrderKind.TOP_UP]
        assert top_up.iccid == sold.iccid and top_up.linked_order_id == sold.id and top_up.plan.key == chosen.key
        assert any(n.title == "Topped up" for n in app._notifications)
        assert app.screen is app.catalogue_screen and app.current_mode == "sell"  # ready for the next customer
        assert top_up.id in [o.id for o in _panel(app).rows]


async def test_escape_from_the_top_up_plans_goes_back_to_the_esims_found(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        await pilot.press("ctrl+t", *sold.iccid[-4:], "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpScreen)
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpFinderScreen) and app.screen.query_one("#esim-search").value == sold.iccid[-4:]
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is app.catalogue_screen


# ---------------------------------------------------------------- what it looks like


def test_snapshot_the_highlighted_order_left_the_panel(snap_compare, tmp_path):
    """Orders in play after the highlighted order left it: no row is highlighted (not the next one)."""
    from esim_tui.domain.orders import REFUNDED
    from tests.conftest import T0

    app = make_app(tmp_path)

    async def run(pilot):
        first = await sold_and_closed(pilot, app)
        await sold_and_closed(pilot, app)
        await _to_panel(pilot, app)
        await pilot.press("down")
        assert _panel(app).highlighted.id == first.id
        gone = app.orders[first.id].model_copy(deep=True)
        gone.note(T0, REFUNDED)  # as the refund records it
        app.order_changed(gone)
        await a_day_later(pilot, app)  # a refunded order leaves the panel a day later
        app.clear_notifications()
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run)


def test_snapshot_top_up_an_esim_from_sell(snap_compare, tmp_path):
    """Ctrl+T on the catalogue: the eSIMs sold, newest first, found by the last digits of the ICCID."""
    app = make_app(tmp_path)

    async def run(pilot):
        await sold_and_closed(pilot, app, sell_esimgo_japan)
        await sold_and_closed(pilot, app)
        await pilot.press("ctrl+t")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run)
