"""Pictures of keys typed ahead (the sale waiting for the price), the e-mail checked as typed, and the
quit dialog for each thing in flight."""

from __future__ import annotations

from esim_tui.domain.plans import ProviderName
from tests.ui.conftest import Held, make_app, sell_japan, settle, to_confirmation

SIZE = (100, 30)
ESIMGO_JAPAN = (*"Japan", "enter", "down", "enter")


def _held(app, call: str) -> Held:
    adapter = app.sales.providers[ProviderName.ESIMGO]
    held = Held(then=getattr(adapter, call))
    setattr(adapter, call, held)
    return held


def test_the_catalogue_keeps_an_enter_typed_before_it_loaded(snap_compare, tmp_path):
    app = make_app(tmp_path)
    held = Held()
    for provider in app.sales.providers.values():
        provider.plans = held

    async def run(pilot):
        await pilot.pause()
        await pilot.press(*"Japan", "enter")

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    held.release()


def test_confirmation_buying_as_soon_as_the_price_is_confirmed(snap_compare, tmp_path):
    """y pressed before eSIM Go's validate answered: the sale waits for the price, Esc takes it back."""
    app = make_app(tmp_path)

    async def run(pilot):
        await settle(pilot, app)
        app.held = _held(app, "quote")
        await pilot.press(*ESIMGO_JAPAN, "y")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    app.held.release()


def test_confirmation_with_an_invalid_email(snap_compare, tmp_path):
    """The reason under the field as the agent types."""

    async def run(pilot):
        await to_confirmation(pilot, pilot.app)
        await pilot.press("tab", *"Ana Lima", "tab", *"ana@example")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run)


def test_quit_while_an_order_is_placed(snap_compare, tmp_path):
    app = make_app(tmp_path)

    async def run(pilot):
        await settle(pilot, app)
        app.held = _held(app, "place_order")
        await pilot.press(*ESIMGO_JAPAN)
        await settle(pilot, app)
        await pilot.press("tab", *"Ana Lima", "tab", "tab", "y", "ctrl+q")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    app.held.release()


def test_quit_while_the_price_is_awaited(snap_compare, tmp_path):
    app = make_app(tmp_path)

    async def run(pilot):
        await settle(pilot, app)
        app.held = _held(app, "quote")
        await pilot.press(*ESIMGO_JAPAN, "ctrl+q")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    app.held.release()


def test_quit_with_the_qr_on_screen(snap_compare, tmp_path):
    async def run(pilot):
        await sell_japan(pilot, pilot.app)
        await pilot.press("ctrl+q")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run)
