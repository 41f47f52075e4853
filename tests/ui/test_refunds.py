"""Refunds at the support desk: the highlighted bundle is the one refunded, the refund is recorded on the
sale that bought it, and a provider without refunds says whom to ask."""

from __future__ import annotations


import pytest

from esim_tui.domain.orders import BundleState, OrderKind
from esim_tui.services.support import summary, timeline
from esim_tui.services.wording import order_state
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.refund import RefundScreen
from esim_tui.ui.screens.top_up import TopUpScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import make_sandbox
from tests.ui.conftest import a_day_later, make_app, sandbox_post, sandbox_request, sell_esimgo_japan, settle, sold_and_closed

pytestmark = pytest.mark.anyio


def _in_play(app) -> list[str]:
    return [o.id for o in app.catalogue_screen.query_one("#orders-in-play", OfferTable).rows]


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def _open(pilot, app, order) -> None:
    """F2, the order's ICCID and client reference, Enter: its detail, freshly asked."""
    await pilot.press("f2")
    await settle(pilot, app)
    await pilot.press("escape", *order.client_reference, "enter")
    await settle(pilot, app)
    assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == order.id
    await pilot.press("r")
    await settle(pilot, app)


async def _topped_up_with_the_same_bundle(pilot, app, sandbox):
    """eSIM Go Japan 1 GB sold, installed and in use, then topped up with the same 1 GB bundle."""
    sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
    await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": 100_000_000})
    await _open(pilot, app, sold)
    await pilot.press("t")
    await settle(pilot, app)
    assert isinstance(app.screen, TopUpScreen)
    plans = app.screen.query_one("#plans", OfferTable)
    plans.cursor = next(i for i, p in enumerate(plans.rows) if p.plan_id == sold.plan.plan_id)
    await pilot.press("enter")
    await settle(pilot, app)
    await pilot.press("y")
    await settle(pilot, app)
    (top_up,) = [o for o in app.orders.values() if o.kind is OrderKind.TOP_UP]
    return sold, top_up


async def test_the_queued_top_up_of_the_same_bundle_as_the_started_sale_is_the_one_refunded(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        sold, top_up = await _topped_up_with_the_same_bundle(pilot, app, sandbox)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == sold.id
        await pilot.press("r")
        await settle(pilot, app)
        bundles = app.screen.query_one("#bundles", OfferTable)
        assert [(b.bundle_name, b.state) for b in bundles.rows] == [(sold.plan.plan_id, BundleState.ACTIVE), (sold.plan.plan_id, BundleState.QUEUED)]
        await pilot.press("down", "x")
        await settle(pilot, app)
        assert isinstance(app.screen, RefundScreen)
        assert "would go back" in _text(app, "#refund-answer")
        await pilot.press("y")
        await settle(pilot, app)

        book = (await sandbox_request(sandbox, "GET", "/_sandbox/ledger"))["esimgo"]
        assert len(book["refunds"]) == 1
        # The refund is on the top-up's own record, which says so and leaves the orders in play a day
        # later (the customer may come back about it meanwhile: ui.keep_finished_hours).
        refunded = await app.sales.order(top_up.id)
        assert refunded.refunded and order_state(refunded) == "Refunded"
        assert "Refunded" not in [e.event for e in timeline(await app.sales.order(sold.id))]
        assert app.screen.order.id == sold.id and order_state(app.screen.order) == "Active"
        assert sold.id in _in_play(app) and top_up.id in _in_play(app)
        await a_day_later(pilot, app)
        assert sold.id in _in_play(app) and top_up.id not in _in_play(app)
        now = await app.sales.provider(sold.provider).esim_status(sold)
        assert [b.state for b in now.bundles if sold.owns(b)] == [BundleState.ACTIVE]  # the customer's data, untouched
        assert [b.state for b in now.bundles if top_up.owns(b)] == [BundleState.REVOKED]
        # and the desk sees it without pressing r: the detail asked again after the refund
        assert [b.state for b in bundles.rows] == [BundleState.ACTIVE, BundleState.REVOKED]


async def test_an_octopus_refund_opens_the_dialog_saying_to_contact_its_support(tmp_path):
    app = make_app(tmp_path, make_sandbox())
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app)  # Octopus Cards, which reports no bundles
        await _open(pilot, app, sold)
        assert not app.screen.query_one("#bundles", OfferTable).rows
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, RefundScreen)
        said = _text(app, "#refund-answer")
        assert "Octopus Cards does not offer refunds through its API" in said and "Contact Octopus Cards support" in said
        assert not app.screen.query_one("#refund").display  # nothing to press but Cancel
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)


async def test_a_refunded_sale_says_refunded_and_leaves_the_orders_in_play(tmp_path):
    app = make_app(tmp_path, make_sandbox())
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)  # not installed: its bundle unstarted
        await _open(pilot, app, sold)
        for key in "xyr":  # refund, confirm, ask eSIM Go again
            await pilot.press(key)
            await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        assert _text(app, "#detail-title").endswith("· Refunded")
        events = [r.event for r in app.screen.query_one("#timeline", OfferTable).rows]
        assert "Refund asked for" in events and "Refunded" in events
        assert sold.id in _in_play(app)  # for a day after the refund (ui.keep_finished_hours)
        await a_day_later(pilot, app)
        assert sold.id not in _in_play(app)
        row = summary(await app.sales.order(sold.id))  # as the Orders list shows it
        assert (row.state, row.stage.label, row.data_left) == ("Refunded", "Refunded", "—")
