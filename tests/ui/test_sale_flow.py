"""A counter agent's sale, driven from the keyboard: what is saved, what is sent, what the screen shows."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import OrderStatus
from esim_tui.ui.screens.catalogue import CatalogueScreen
from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.order_outcome import OrderOutcomeScreen
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import make_sandbox
from tests.ui.conftest import ledger, make_app, sandbox_post, sandbox_request, sell_japan, settle, to_confirmation

pytestmark = pytest.mark.anyio


async def test_japan_enter_enter_y_sells_one_esim_and_shows_its_code(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.focused.id == "search"
        await pilot.press(*"Japan")
        assert app.screen.query_one("#destinations", OfferTable).highlighted.code == "JP"
        await pilot.press("enter")
        assert isinstance(app.screen, PlansScreen)
        # eSIM Go's Asia plan covers Japan and is cheaper: it comes first; Octopus's Japan 1 GB second
        rows = app.screen.query_one("#plans", OfferTable).rows
        assert [(p.provider.value, p.name) for p in rows[:2]] == [("esimgo", "Asia 1 GB / 7 days"), ("octopus", "Japan 1 GB / 7 days")]
        await pilot.press("down", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        assert await ledger(sandbox) == []  # nothing charged before the key
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        orders = list(app.ctx.store.all())
        assert len(orders) == 1
        order = orders[0]
        assert order.status is OrderStatus.DELIVERED and order.client_reference == "ESIM-20261122-TEST0001"
        assert order.activation_code and order.shown_at is not None
        assert [e.event for e in order.history][:2] == ["INTENT", "SENT"]
        charges = await ledger(sandbox)
        assert [(c["client_reference"], c["amount"]) for c in charges] == [("ESIM-20261122-TEST0001", "4.275")]
        shown = " ".join(str(w.render()).replace("\n", "") for w in app.screen.query(".code-value"))  # a code wraps between its parts
        assert order.activation_code in shown and order.iccid in shown


async def test_typing_filters_by_code_region_and_global(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one("#destinations", OfferTable)
        for text, first in (("jpn", "JP"), ("fr", "FR"), ("global", "GLOBAL"), ("europe", "Europe")):
            app.screen.query_one("#search").value = text
            await pilot.pause()
            assert table.highlighted.code == first, text
        app.screen.query_one("#search").value = "zzzz"
        await pilot.pause()
        assert table.rows == [] and table.highlighted is None


async def test_plans_sort_by_price_data_and_validity(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press(*"Japan", "enter")
        table = app.screen.query_one("#plans", OfferTable)
        assert [p.price.amount for p in table.rows] == sorted(p.price.amount for p in table.rows)
        await pilot.press("d")
        most = [p.data_mb if p.data_mb is not None else 10**12 for p in table.rows]  # unlimited (None) first
        assert most == sorted(most, reverse=True)
        await pilot.press("v")
        assert [p.validity_days for p in table.rows] == sorted((p.validity_days for p in table.rows), reverse=True)


async def test_escape_on_the_confirmation_charges_nothing_and_saves_nothing(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await to_confirmation(pilot, app)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, CatalogueScreen)
        assert app.ctx.store.count() == 0 and await ledger(sandbox) == []


async def test_a_pending_order_frees_the_counter_and_is_followed_until_delivered(tmp_path):
    sandbox = make_sandbox()
    await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "pending", "seconds": 30})
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await sell_japan(pilot, app)
        assert isinstance(app.screen, CatalogueScreen)  # the agent can start the next sale
        order = next(app.ctx.store.all())
        assert order.status is OrderStatus.PENDING
        panel = app.screen.query_one("#orders-in-play", OfferTable)
        assert [o.id for o in panel.rows] == [order.id]
        await sandbox_post(sandbox, "/_sandbox/clock", {"advance_seconds": 31})
        result = await app.follower.poll(order)
        app.order_changed(result.order)
        await pilot.pause()
        assert app.ctx.store.get(order.id).status is OrderStatus.DELIVERED
        assert any("ready" in n.message for n in app._notifications)


async def test_a_failed_order_explains_the_refund_and_offers_other_plans(tmp_path):
    sandbox = make_sandbox()
    await sandbox_post(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "fail", "failure_code": "PLAN_UNAVAILABLE", "failure_reason": "The plan is no longer available", "is_user_fixable": True})
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await sell_japan(pilot, app)
        assert isinstance(app.screen, OrderOutcomeScreen)
        text = str(app.screen.query_one("#outcome-text").render())
        assert "no longer available" in text and "refunded" in text
        alternatives = app.screen.query_one("#alternatives", OfferTable)
        japan = app.catalogue.offer(app.screen.order.plan.destination.key)
        others = {p.key for p in japan.plans} - {app.screen.order.plan.key}
        assert {p.key for p in alternatives.rows} == others and {p.provider.value for p in alternatives.rows} == {"octopus", "esimgo"}
        assert [c["refunded"] for c in await ledger(sandbox)] == [True]


async def test_training_commands_install_and_use_data_and_the_panel_follows(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await sell_japan(pilot, app)
        await app.train("install")
        order = app.target_order()
        result = await app.follower.poll(order)
        app.order_changed(result.order)
        assert app.ctx.store.get(order.id).is_installed
        await app.train("usage", 1_000_000_000)
        await pilot.pause()
        assert any(n.message.startswith("The customer used 1 GB (") for n in app._notifications)  # as the palette says it
        result = await app.follower.poll(app.orders[order.id])
        app.order_changed(result.order)
        assert app.ctx.store.get(order.id).activation_status.value == "ACTIVE"
        assert app.ctx.store.get(order.id).activation_code == order.activation_code  # kept after install


async def _sell_with_email(pilot, app, email: str) -> None:
    await to_confirmation(pilot, app)
    app.screen.query_one("#customer-email").value = email
    await pilot.press("y")
    await settle(pilot, app)


async def test_the_customer_email_goes_to_octopus_for_its_receipt(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await _sell_with_email(pilot, app, "ana@example.com")
        order = next(iter(app.orders.values()))
        assert [c.detail for c in order.history if c.event == "RECEIPT E-MAILED"] == ["ana@example.com"]
        on_file = await sandbox_request(sandbox, "GET", f"/api/v1/esim/orders/{order.provider_order_id}", headers={"Authorization": "Bearer sandbox"})
        assert on_file["data"]["notification_email"] == "ana@example.com"


async def test_a_refused_customer_email_is_noted_and_the_sale_stands(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        # A well-formed address (an internationalised domain) that Octopus Cards' check refuses;
        # one that is not an address at all is refused before buying (tests/ui/test_typeahead.py).
        await _sell_with_email(pilot, app, "ana@bücher.de")
        assert isinstance(app.screen, DeliveryScreen)
        order = next(iter(app.orders.values()))
        assert order.status is OrderStatus.DELIVERED
        assert [c.event for c in order.history if c.event.startswith("RECEIPT")] == ["RECEIPT NOT SENT"]


async def test_the_customer_name_is_one_tab_from_buy_and_typed_details_are_saved(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_confirmation(pilot, app)
        assert app.focused.id == "buy"
        await pilot.press("tab", *"Ana Lima", "tab", *"ana@example.com", "tab")
        assert app.focused.id == "buy"  # Back is Esc (or a click), not a stop on the way
        await pilot.press("enter")
        await settle(pilot, app)
        (order,) = app.orders.values()
        assert order.customer_label == "Ana Lima" and order.customer_email == "ana@example.com"


async def test_typing_on_a_list_goes_to_the_search_and_f3_comes_back_to_a_ready_search(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await sell_japan(pilot, app)
        await pilot.press("escape", "tab", "tab")  # from the QR back to the catalogue, then onto the lists
        await pilot.pause()
        assert app.focused.id != "search"
        await pilot.press(*"france")
        await pilot.pause()
        screen = app.screen
        assert app.focused.id == "search" and screen.query_one("#search").value == "france"
        assert screen.table.highlighted.code == "FR"
        await pilot.press("escape", "enter")  # the plans of the first destination
        await settle(pilot, app)
        assert app.screen is not screen
        await pilot.press("f2")
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        assert app.screen is screen and app.focused.id == "search"  # not the plans left open an hour ago


async def test_f1_lists_the_keys_of_the_screen_and_the_app_with_their_ids(tmp_path):
    from esim_tui.ui.screens.keys import KeysScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_confirmation(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        listed = {(k.key, k.binding_id) for k in app.screen.keys}
        assert ("y", "confirm.buy") in listed and ("^q", "app.quit") in listed
        assert all(k.binding_id for k in app.screen.keys)  # a text box's editing keys are not the app's
        assert app.screen.keys[-1].group == "Everywhere"  # the screen's own keys come first
        await pilot.press("f1")
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen)


async def test_a_remapped_key_shows_on_the_buy_button_and_in_the_footer_and_buys(tmp_path):
    from textual.widgets import Button
    from textual.widgets._footer import FooterKey

    from esim_tui.config import load_settings
    from esim_tui.store.orders import OrderStore
    from esim_tui.ui.app import EsimApp
    from esim_tui.ui.context import build_context
    from tests.conftest import T0
    from tests.ui.conftest import references

    config = tmp_path / "config.toml"
    config.write_text('[ui]\nkeymap = { "confirm.buy" = "b", "confirm.back" = "f5" }\n')
    settings = load_settings(config, environ={}, db=tmp_path / "orders.json")
    ctx = build_context(settings, store=OrderStore.open(tmp_path / "orders-sandbox.json"), sandbox=make_sandbox(), now=lambda: T0)
    ctx.sales._mint = references()
    app = EsimApp(ctx, follow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await to_confirmation(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        assert str(app.screen.query_one("#buy", Button).label) == "Buy (b)"
        assert str(app.screen.query_one("#back", Button).label) == "Back (F5)"
        footer = {key.description: key.key_display for key in app.screen.query(FooterKey)}
        assert footer["Buy"] == "b" and footer["Back"] == "f5"
        await pilot.press("y")  # the old key does nothing now
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and not app.orders
        await pilot.press("b")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        assert [o.status for o in app.orders.values()] == [OrderStatus.DELIVERED]
