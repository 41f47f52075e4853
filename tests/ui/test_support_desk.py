"""The support desk from the keyboard: find a sold eSIM, show it again, follow its data, top it up,
refund an unstarted bundle, export its QR; and the balances in the header."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
import zxingcpp

from esim_tui.domain.orders import OrderKind, OrderStatus
from esim_tui.services import support
from esim_tui.services.support import OrderFilter, OrderFinder
from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.export import ExportScreen
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.order_outcome import OrderOutcomeScreen
from esim_tui.ui.screens.orders import OrdersScreen
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.ui.screens.refund import RefundScreen
from esim_tui.ui.screens.settle import SettleScreen
from esim_tui.ui.screens.top_up import TopUpScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import T0, make_sandbox
from tests.store_helpers import sold as sold_record
from tests.ui.conftest import (
    esimgo_sale_meeting,
    ledger,
    make_app,
    pick_plan,
    sandbox_post,
    sandbox_request,
    sell_esimgo_japan,
    sell_japan,
    settle,
    sold_and_closed,
    to_confirmation,
    without_waits,
)

pytestmark = pytest.mark.anyio


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def _timeline(app) -> list[str]:
    return [row.event for row in app.screen.query_one("#timeline", OfferTable).rows]


async def _find(pilot, app, text: str) -> None:
    """F2 from wherever the agent is, type, Enter: the order's detail."""
    await pilot.press("f2")
    await settle(pilot, app)
    await pilot.press("escape", *text, "enter")
    await settle(pilot, app)


async def test_f2_finds_a_sale_by_the_last_four_iccid_digits_and_shows_its_qr_again(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app)
        await sell_japan(pilot, app)  # a second sale, so the search has something to leave out
        await pilot.press("escape")
        await pilot.press("f2")
        await settle(pilot, app)
        assert isinstance(app.screen, OrdersScreen) and app.focused.id == "order-search"
        assert len(app.screen.table.rows) == 2
        await pilot.press(*sold.iccid[-4:])
        await settle(pilot, app)
        assert [r.id for r in app.screen.table.rows] == [sold.id]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order.id == sold.id
        facts = " ".join(str(w.render()) for w in app.screen.query(".fact-value"))
        assert sold.iccid in facts and sold.client_reference in facts
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.order.id == sold.id
        assert app.screen.query("QrCode")  # not installed: the QR is there again
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)  # Done goes back to the detail, not to Sell


async def test_an_archived_order_listed_from_its_summary_opens_in_full_with_its_qr(tmp_path, monkeypatch):
    """The list comes from the store's summaries, which hold no activation code; Enter reads the whole
    order, so the detail and "show it again" have everything."""
    app = make_app(tmp_path)
    store = app.sales.store
    old = [sold_record(f"ESIM-20250601-OLD{n:05d}", f"8944111122223{n:05d}3", customer_label=f"Old Customer {n}",
                       created_at=T0 - timedelta(days=500 + n)) for n in range(3)]
    for order in old:
        store.save(order)  # delivered long ago, never installed: settled into the archive
    assert store.in_play() == []
    OrderFinder.load(store)  # an earlier F2 wrote the summaries
    made = []
    real_make = support.DESK_SUMMARY.make
    monkeypatch.setattr(support.DESK_SUMMARY, "make", lambda orders: made.extend(orders) or real_make(orders))
    target = old[1]
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        assert len(app.screen.table.rows) == 3 and made == []  # listed without reading an order
        await pilot.press(*target.iccid[-4:], "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order == target
        facts = " ".join(str(w.render()) for w in app.screen.query(".fact-value"))
        assert target.client_reference in facts and "Old Customer 1" in facts
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.order.activation_code == target.activation_code
        assert app.screen.query("QrCode")


async def test_once_installed_the_code_is_spent_and_the_qr_is_not_shown(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app)
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/install")
        await _find(pilot, app, sold.iccid[-4:])
        await pilot.press("r")  # ask the provider now
        await settle(pilot, app)
        assert app.screen.order.is_installed
        assert "Installed" in _timeline(app)
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        assert not app.screen.query("QrCode")
        assert "already installed" in " ".join(str(w.render()) for w in app.screen.query(".warning"))
        shown = " ".join(str(w.render()) for w in app.screen.query("Static, Label"))
        assert sold.activation_code not in shown and "Matching ID" not in shown  # the spent code is not shown
        assert sold.iccid in shown
        keys = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
        assert not {"c", "l", "e"} & keys  # nothing to copy, enlarge or export
        spent = "This eSIM is installed: its activation code is spent, so there is nothing to export."
        await pilot.press("e")  # pressed anyway: told why, not nothing
        await pilot.pause()
        assert [n.message for n in app._notifications][-1] == spent and isinstance(app.screen, DeliveryScreen)
        await pilot.press("escape")
        await settle(pilot, app)
        assert not app.screen.check_action("export", ())  # nor from the order detail
        app.clear_notifications()
        await pilot.press("e")
        await pilot.pause()
        assert [n.message for n in app._notifications] == [spent] and isinstance(app.screen, OrderDetailScreen)


async def test_an_esimgo_esim_shows_its_data_falling_then_is_topped_up_once_and_the_top_up_refunded(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        assert sold.provider.value == "esimgo" and sold.status is OrderStatus.DELIVERED
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/install")
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": 250_000_000})
        await _find(pilot, app, sold.iccid[-4:])
        await pilot.press("r")
        await settle(pilot, app)
        first = app.screen.query_one("#bundles", OfferTable).rows[0]
        assert first.remaining_bytes == first.initial_bytes - 250_000_000
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/usage", {"bytes": 250_000_000})
        await pilot.press("r")
        await settle(pilot, app)
        assert app.screen.query_one("#bundles", OfferTable).rows[0].remaining_bytes == first.remaining_bytes - 250_000_000

        # Top up: only plans that fit this eSIM, then the same confirmation as a sale.
        charges_before = len(await ledger(sandbox, "esimgo"))
        await pilot.press("t")
        await settle(pilot, app)
        assert isinstance(app.screen, TopUpScreen)
        offered = app.screen.query_one("#plans", OfferTable).rows
        assert offered and all(p.provider.value == "esimgo" for p in offered)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen) and app.screen.top_up_of.id == sold.id
        chosen = app.screen.plan
        await pilot.press("y")
        await settle(pilot, app)
        charges = await ledger(sandbox, "esimgo")
        assert len(charges) == charges_before + 1  # charged exactly once
        top_up = next(o for o in app.orders.values() if o.kind is OrderKind.TOP_UP)
        assert top_up.iccid == sold.iccid and top_up.linked_order_id == sold.id and top_up.plan.key == chosen.key
        assert any("topped up" in n.message.lower() or "added" in n.message for n in app._notifications)

        # The detail now lists both bundles; the top-up is queued (not started), so it may be refunded.
        assert isinstance(app.screen, OrderDetailScreen)
        await pilot.press("r")
        await settle(pilot, app)
        bundles = app.screen.query_one("#bundles", OfferTable)
        assert {b.bundle_name for b in bundles.rows} >= {sold.plan.plan_id, chosen.plan_id}
        assert "Topped up" in _timeline(app)

        # The started bundle: the refund is refused, with the reason.
        bundles.cursor = next(i for i, b in enumerate(bundles.rows) if b.bundle_name == sold.plan.plan_id and b.started_at)
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, RefundScreen)
        assert "cannot be refunded" in _text(app, "#refund-answer")
        await pilot.press("y")  # does nothing: there is nothing to refund
        await settle(pilot, app)
        assert isinstance(app.screen, RefundScreen)
        await pilot.press("escape")
        await settle(pilot, app)

        # The queued top-up: validate shows the amount, y refunds it, once.
        balance_before = Decimal((await sandbox_request(sandbox, "GET", "/_sandbox/ledger"))["esimgo"]["balance"])
        bundles = app.screen.query_one("#bundles", OfferTable)
        bundles.cursor = next(i for i, b in enumerate(bundles.rows) if b.bundle_name == chosen.plan_id and not b.started_at)
        await pilot.press("x")
        await settle(pilot, app)
        assert "would go back" in _text(app, "#refund-answer")
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        book = (await sandbox_request(sandbox, "GET", "/_sandbox/ledger"))["esimgo"]
        assert len(book["refunds"]) == 1 and Decimal(book["balance"]) > balance_before
        assert any(n.title == "Refunded" for n in app._notifications)
        # Recorded on the top-up, the sale that bought the bundle; the first sale keeps its own record,
        # where the desk's look at its started bundle is noted (refused), not a refund.
        assert not {"Refund asked for", "Refunded"} & set(_timeline(app))
        assert "Refund looked into" in _timeline(app)
        refunded = await app.sales.order(top_up.id)
        events = [c.event for c in refunded.history]
        # requested, refunded, and then (the detail asks the provider at once) the bundle seen revoked
        assert events[events.index("REFUND REQUESTED") :] == ["REFUND REQUESTED", "REFUNDED", "bundle revoked"]
        assert "esim go" in app.balance_line.lower()


async def test_octopus_has_no_top_ups_so_t_sells_a_new_esim_linked_to_the_customer(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        await to_confirmation(pilot, app)
        app.screen.query_one("#customer-label").focus()
        await pilot.press(*"Ana Lima", "enter", "enter", "enter")  # label, e-mail left empty, Buy
        await settle(pilot, app)
        sold = next(iter(app.orders.values()))
        await pilot.press("escape")
        await _find(pilot, app, "ana lima")
        assert app.screen.order.id == sold.id
        await pilot.press("t")
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen) and app.screen.follows.id == sold.id
        assert app.current_mode == "sell"
        await pick_plan(pilot, app)  # Octopus's Japan 1 GB again (regional plans are listed too)
        assert app.screen.query_one("#customer-label").value == sold.customer_label
        await pilot.press("y")
        await settle(pilot, app)
        new = next(o for o in app.orders.values() if o.id != sold.id)
        assert new.kind is OrderKind.SALE and new.linked_order_id == sold.id and new.customer_label == "Ana Lima"
        first = await app.sales.order(sold.id)
        assert new.id in first.follow_ups
        assert len(await ledger(sandbox)) == 2


async def test_export_writes_the_qr_that_scans_and_the_install_links_to_the_folder_typed(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        sold = await sold_and_closed(pilot, app, sell_esimgo_japan)
        await _find(pilot, app, sold.iccid[-4:])
        await pilot.press("e")
        await settle(pilot, app)
        assert isinstance(app.screen, ExportScreen)
        folder = tmp_path / "for the customer"
        field = app.screen.query_one("#export-folder")
        field.value = str(folder)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        names = sorted(p.name for p in folder.iterdir())
        stem = f"esim-{sold.client_reference}"
        assert names == [f"{stem}-install.txt", f"{stem}-pack.zip", f"{stem}-qr.png", f"{stem}-qr.svg"]
        decoded = zxingcpp.read_barcodes(Image.open(folder / f"{stem}-qr.png"))
        assert [d.text for d in decoded] == [sold.activation_code]


async def test_an_unwritable_export_folder_says_so_and_keeps_the_dialog_open(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await sell_japan(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        app.screen.query_one("#export-folder").value = str(blocker / "sub")
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ExportScreen)
        assert "Could not export" in _text(app, "#export-answer")


async def test_the_header_shows_the_balance_and_warns_below_the_threshold(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot, app)
        assert app.balance_line == "eSIM Go 5,000.00 USD" and not app.balance_low
        app.ctx.settings.balance.warn_below = Decimal("4999")
        await sell_esimgo_japan(pilot, app)
        assert app.balance_line.startswith("LOW BALANCE") and "4,994.86 USD" in app.balance_line
        assert app.screen.query_one(".top-balance").has_class("low")


async def test_orders_filters_cycle_with_f4(tmp_path):
    sandbox = make_sandbox()
    await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "fail", "failure_code": "X", "failure_reason": "No", "is_user_fixable": False})
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        await sell_japan(pilot, app)  # fails
        await pilot.press("escape", "escape")  # leave the outcome, clear the search
        await sell_esimgo_japan(pilot, app)  # delivered
        await pilot.press("escape", "f2")
        await settle(pilot, app)
        screen = app.screen
        assert len(screen.table.rows) == 2
        seen = {}
        for _ in OrderFilter:  # once round every filter
            await pilot.press("f4")
            await settle(pilot, app)
            seen[screen.filter.value] = [r.provider.value for r in screen.table.rows]
        assert seen["failed"] == ["octopus"] and seen["delivered"] == ["esimgo"] and sorted(seen["all"]) == ["esimgo", "octopus"]
        assert seen["installed"] == []


async def test_the_open_order_list_takes_in_a_sale_made_meanwhile_in_sell(tmp_path):
    """The desk keeps Orders open (F2); a sale made in Sell (F3) is in the list on coming back, and a
    change to it (installed) shows there too, without reopening anything."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        orders = app.screen
        assert isinstance(orders, OrdersScreen) and orders.table.rows == []
        await pilot.press("f3")
        sold = await sold_and_closed(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        assert app.screen is orders and [r.id for r in orders.table.rows] == [sold.id]
        assert orders.table.rows[0].state == "Delivered, not installed"
        await sandbox_post(sandbox, f"/_sandbox/esims/{sold.iccid}/install")
        app.order_changed((await app.follower.poll(sold)).order)  # what the status panel's next poll does
        await settle(pilot, app)
        assert orders.table.rows[0].state.startswith("Installed")


async def test_a_sale_of_unknown_outcome_is_settled_by_hand_and_its_qr_handed_over(tmp_path):
    """eSIM Go charged but its answer was lost while it could not list orders: the sale needs attention.
    Later the desk opens it, presses a, picks the provider's order: the code is saved and the QR shown."""
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))
    async with app.run_test(size=(110, 34)) as pilot:
        await esimgo_sale_meeting(pilot, app, sandbox, {"kind": "drop_after_commit"}, lookups_fail=True)
        [lost] = app.orders.values()
        assert lost.status is OrderStatus.UNKNOWN and lost.needs_attention
        [charge] = await ledger(sandbox, "esimgo")
        await sandbox_request(sandbox, "DELETE", "/_sandbox/faults")
        await pilot.press("escape")
        await _find(pilot, app, lost.client_reference)
        assert isinstance(app.screen, OrderDetailScreen)
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, SettleScreen)
        options = app.screen.query_one("#settle-options")
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [charge["order_id"], "none"]
        await pilot.press("enter", "y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and app.screen.query("QrCode")
        settled = app.orders[lost.id]
        assert settled.status is OrderStatus.DELIVERED and settled.needs_attention is None
        assert settled.provider_order_id == charge["order_id"] and settled.activation_code
        assert app.sales.store.get(lost.id).activation_code == settled.activation_code  # on file
        assert len(await ledger(sandbox, "esimgo")) == 1  # nothing more charged


async def test_nothing_at_the_provider_closes_the_sale_as_not_placed(tmp_path):
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))
    async with app.run_test(size=(110, 34)) as pilot:
        await esimgo_sale_meeting(pilot, app, sandbox, {"kind": "drop_before_commit"})
        [lost] = app.orders.values()
        assert lost.status is OrderStatus.UNKNOWN
        assert isinstance(app.screen, OrderOutcomeScreen)  # the counter sees "needs attention" at once
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("enter")  # the only option: no order at eSIM Go
        await settle(pilot, app)
        assert "not placed" in str(app.screen.query_one("#settle-answer").render())
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, OrderOutcomeScreen) and app.screen.order.status is OrderStatus.FAILED
        assert "nothing was charged" in _text(app, "#outcome-text")
        assert app.orders[lost.id].status is OrderStatus.FAILED and "nothing was charged" in app.orders[lost.id].failure.reason
        assert await ledger(sandbox, "esimgo") == []


async def test_the_palette_offers_what_fits_the_mode(tmp_path):
    from esim_tui.ui.app import SellCommands

    app = make_app(tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot, app)

        def titles() -> list[str]:
            return [title for title, _run, _help in SellCommands(app.screen)._commands()]

        assert "Refresh the catalogue" in titles()
        await pilot.press("f2")
        await settle(pilot, app)
        assert "Refresh the catalogue" not in titles()  # the desk's list has no catalogue
        # Our three themes by name; Textual's picker would offer themes without our colours.
        assert [t for t in titles() if t.startswith("Theme")] == ["Theme: esim dark", "Theme: esim light", "Theme: high contrast"]
