"""A fast agent types ahead: keys pressed while data is loading take effect, in order, and never buy at a
price the provider did not confirm. ctrl+q asks first while something is in flight. The customer's
e-mail is checked as it is typed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Input, Static

from esim_tui.domain.errors import ProviderUnreachable
from esim_tui.domain.plans import ProviderName
from esim_tui.ui.screens.catalogue import CatalogueScreen
from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.ui.screens.quit_confirm import QuitScreen
from tests.conftest import make_sandbox
from tests.ui.conftest import Held, ledger, make_app, sell_japan, settle, to_confirmation

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
# eSIM Go's Japan 1 GB / 7 days: the fourth of Japan's plans by price, after eSIM Go's Asia 1 GB, Octopus's
# Japan 1 GB and Asia 500 MB (the regional plans covering Japan are sorted in). Typed ahead, the keys
# cannot look: test_the_typed_ahead_plan_is_the_one_meant checks the position.
ESIMGO_JAPAN = (*"Japan", "enter", "down", "down", "down", "enter")


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def shown(screen) -> str:
    return " ".join(str(w.content) for w in screen.query(Static) if w.display)


def hold(app, provider: ProviderName, call: str, then=None) -> Held:
    """Hold ``call`` of the provider's adapter until released; then it makes the real call (or ``then``)."""
    adapter = app.sales.providers[provider]
    held = Held(then=then or getattr(adapter, call))
    setattr(adapter, call, held)
    return held


def hold_catalogue(app) -> list[Held]:
    return [hold(app, name, "plans") for name in list(app.sales.providers)]


async def esimgo_japan_holding(pilot, app, call: str, *keys: str, then=None) -> Held:
    """Start-up done, eSIM Go's ``call`` held, then eSIM Go Japan chosen and ``keys`` pressed, no waiting."""
    await settle(pilot, app)
    held = hold(app, ProviderName.ESIMGO, call, then)
    await pilot.press(*ESIMGO_JAPAN, *keys)
    await pilot.pause()
    return held


def burst(app, *keys: str) -> None:
    """Keys as a terminal hands over a fast typist's burst: all queued at once, none waited for
    (``pilot.press`` waits for the app to be idle after each key)."""
    from textual import events

    for key in keys:
        event = events.Key(key, "\r" if key == "enter" else key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def unreachable(plan):
    raise ProviderUnreachable("esimgo", "ConnectError")


# ---------------------------------------------------------------- typed ahead


async def test_japan_enter_typed_while_the_first_catalogue_loads_opens_japans_plans(tmp_path):
    app = make_app(tmp_path)
    held = hold_catalogue(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*"Japan", "enter")
        assert app.screen is app.catalogue_screen and app.catalogue_screen.index is None
        assert "Opening the first match for “Japan” as soon as the catalogue is here" in text(app.screen, "#catalogue-message")
        for h in held:
            h.release()
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen) and app.screen.offer.destination.code == "JP"
        assert text(app.catalogue_screen, "#catalogue-message") == ""


async def test_japan_enter_in_one_burst_while_the_first_catalogue_loads_opens_japans_plans(tmp_path):
    app = make_app(tmp_path)
    held = hold_catalogue(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, *"Japan", "enter")
        await pilot.pause()
        assert "Opening the first match for “Japan”" in text(app.screen, "#catalogue-message")
        for h in held:
            h.release()
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen) and app.screen.offer.destination.code == "JP"


async def test_a_whole_sale_in_one_burst_buys_once(tmp_path):
    """Japan, Enter, Down, Enter, y as one burst once the catalogue is there: one eSIM Go charge, the QR."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        burst(app, *ESIMGO_JAPAN, "y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        assert len(await ledger(sandbox, "esimgo")) == 1


async def test_japan_enter_typed_before_the_services_are_up_on_a_first_start(tmp_path):
    """The command line's start with no saved list: the keys come before the services are even built."""
    from tests.ui.test_boot import booting_app

    app = booting_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*"Japan", "enter")
        assert app.sales is None and app.screen is app.catalogue_screen
        app.boot.build.gate.set()
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen) and app.screen.offer.destination.code == "JP"
    app.built.close()


async def test_typing_on_after_the_typed_ahead_enter_takes_it_back(tmp_path):
    app = make_app(tmp_path)
    held = hold_catalogue(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*"Japan", "enter", "backspace", "backspace", "backspace", "backspace", "backspace", *"France")
        assert text(app.screen, "#catalogue-message") == ""
        for h in held:
            h.release()
        await settle(pilot, app)
        assert isinstance(app.screen, CatalogueScreen)  # still choosing: nothing opened by itself
        assert app.screen.table.highlighted.code == "FR"


async def test_y_typed_ahead_through_the_sale_buys_once(tmp_path):
    """Japan, Enter, Down, Enter, y in one go, no waiting: one eSIM Go charge and the QR."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*ESIMGO_JAPAN, "y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        assert len(await ledger(sandbox, "esimgo")) == 1


async def test_y_while_the_quote_is_in_flight_buys_once_the_price_is_confirmed(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        quote = await esimgo_japan_holding(pilot, app, "quote", "y")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Buying as soon as eSIM Go confirms the price" in shown(app.screen)
        assert not app.screen.query_one("#confirm-buttons").display
        assert await ledger(sandbox, "esimgo") == []  # nothing bought at an unconfirmed price
        await pilot.press("y")  # pressed again while waiting: still one sale
        quote.release()
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        charges = await ledger(sandbox, "esimgo")
        assert len(charges) == 1 and len(app.orders) == 1


async def test_a_waiting_y_is_dropped_when_the_quote_says_it_will_not_go_through(tmp_path):
    sandbox = make_sandbox(esimgo_balance=Decimal("1.00"))  # the validate refuses: balance too low
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        quote = await esimgo_japan_holding(pilot, app, "quote", "y")
        quote.release()
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and not screen.buy_waiting
        note = text(screen, "#buy-note")
        assert note.startswith("Not bought: ") and "balance" in note.lower() and "Go back and choose again" in note
        assert screen.query_one("#confirm-buttons").display  # the screen is back, saying why
        assert await ledger(sandbox, "esimgo") == [] and app.orders == {}


async def test_a_waiting_y_does_not_buy_at_an_unconfirmed_list_price(tmp_path):
    """No quote at all (the provider did not answer): the agent decides again, knowingly."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        quote = await esimgo_japan_holding(pilot, app, "quote", "y", then=unreachable)
        quote.release()
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        assert "eSIM Go did not confirm the price. Press y again to buy at the list price." in text(app.screen, "#buy-note")
        assert "The list price applies" in text(app.screen, "#quote")
        assert await ledger(sandbox, "esimgo") == []
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and len(await ledger(sandbox, "esimgo")) == 1


async def test_escape_while_waiting_for_the_price_takes_the_y_back(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        quote = await esimgo_japan_holding(pilot, app, "quote", "y", "escape")
        quote.release()
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen) and app.screen.query_one("#confirm-buttons").display
        assert await ledger(sandbox, "esimgo") == []


# ---------------------------------------------------------------- the customer's e-mail


async def test_an_invalid_email_says_why_as_typed_and_is_refused_before_buying(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await to_confirmation(pilot, app)
        screen = app.screen
        assert not screen.query_one("#email-problem").display  # empty is fine: the e-mail is optional
        await pilot.press("tab", "tab", *"ana@example")
        assert "It should have a period" in text(screen, "#email-problem") and screen.query_one("#email-problem").display
        await pilot.press("tab", "y")  # on Buy
        await settle(pilot, app)
        assert app.screen is screen and app.focused.id == "customer-email"
        assert await ledger(sandbox) == []
        await pilot.press(*".com")
        assert not screen.query_one("#email-problem").display
        await pilot.press("tab", "y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        (order,) = app.orders.values()
        assert order.customer_email == "ana@example.com" and len(await ledger(sandbox)) == 1


# ---------------------------------------------------------------- quitting


async def ask_to_quit(pilot) -> str:
    """ctrl+q; what the quit dialog says."""
    await pilot.press("ctrl+q")
    await pilot.pause()
    assert isinstance(pilot.app.screen, QuitScreen)
    return shown(pilot.app.screen)


async def test_ctrl_q_with_nothing_in_flight_quits_at_once(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0


async def test_ctrl_q_on_the_qr_asks_and_n_stays(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sell_japan(pilot, app)
        (order,) = app.orders.values()
        words = await ask_to_quit(pilot)
        assert "Quit anyway?" in words and f"The QR for ICCID …{order.iccid[-4:]} is on screen." in words
        assert "safe in the journal" in words and "shown again from Orders in play or F2" in words
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DeliveryScreen) and app.return_code is None
        await pilot.press("ctrl+q", "y")
        await pilot.pause()
        assert app.return_code == 0


async def test_ctrl_q_while_the_price_is_awaited_asks(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        quote = await esimgo_japan_holding(pilot, app, "quote", "y")
        words = await ask_to_quit(pilot)
        assert "Waiting for eSIM Go's price of" in words and "A buy is waiting for it." in words
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.return_code is None
        quote.release()
        await settle(pilot, app)


async def test_ctrl_q_while_an_order_is_placed_asks_and_the_sale_goes_on(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        placing = await esimgo_japan_holding(pilot, app, "place_order")
        await settle(pilot, app)
        await pilot.press("tab", *"Ana Lima", "tab", "tab", "y")
        words = await ask_to_quit(pilot)
        assert "Placing an order for Ana Lima with eSIM Go." in words and "safe in the journal either way" in words
        await pilot.press("n")
        placing.release()
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen) and len(await ledger(sandbox, "esimgo")) == 1
        assert app.being_placed == {}


async def test_quitting_mid_order_keeps_it_in_the_journal(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await esimgo_japan_holding(pilot, app, "place_order")  # never answers before the quit
        await settle(pilot, app)
        await pilot.press("y", "ctrl+q", "y")
        await pilot.pause()
        assert app.return_code == 0
    (order,) = app.ctx.store.all()
    assert order.plan.provider is ProviderName.ESIMGO and [e.event for e in order.history][:1] == ["INTENT"]


async def test_an_email_kept_from_an_earlier_sale_is_checked_too(tmp_path):
    """A follow-up sale brings the earlier customer's address; a bad one says so before any key."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_confirmation(pilot, app)
        email = app.screen.query_one("#customer-email", Input)
        email.value = "not an address"
        await pilot.pause()
        assert "must have an @-sign" in text(app.screen, "#email-problem")


async def test_the_typed_ahead_plan_is_the_one_meant(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*ESIMGO_JAPAN[:-1])
        await settle(pilot, app)
        plan = app.screen.query_one("#plans").highlighted
        assert (plan.provider, plan.name) == (ProviderName.ESIMGO, "Japan 1 GB / 7 days")
