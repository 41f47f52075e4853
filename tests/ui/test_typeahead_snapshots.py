"""Pictures of keys typed ahead (the sale waiting for the price), the e-mail checked as typed, and the
quit dialog for each thing in flight."""

from __future__ import annotations

from tests.ui.conftest import make_app, sell_japan, settle, to_confirmation
from tests.ui.test_typeahead import esimgo_japan_holding, hold_catalogue

SIZE = (100, 30)


def _snap(snap_compare, app, run) -> bool:
    """The picture after ``run``; what it held (``app.held``) is released after it."""
    app.held = getattr(app, "held", [])
    try:
        return snap_compare(app, terminal_size=SIZE, run_before=run)
    finally:
        for held in app.held:
            held.release()


def test_the_catalogue_keeps_an_enter_typed_before_it_loaded(snap_compare, tmp_path):
    app = make_app(tmp_path)
    app.held = hold_catalogue(app)  # before the app starts asking

    async def run(pilot):
        await pilot.pause()
        await pilot.press(*"Japan", "enter")

    assert _snap(snap_compare, app, run)


def test_confirmation_buying_as_soon_as_the_price_is_confirmed(snap_compare, tmp_path):
    """y pressed before eSIM Go's validate answered: the sale waits for the price, Esc takes it back."""
    app = make_app(tmp_path)

    async def run(pilot):
        app.held.append(await esimgo_japan_holding(pilot, app, "quote", "y"))

    assert _snap(snap_compare, app, run)


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
        app.held.append(await esimgo_japan_holding(pilot, app, "place_order"))
        await settle(pilot, app)
        await pilot.press("tab", *"Ana Lima", "tab", "tab", "y", "ctrl+q")
        await pilot.pause()

    assert _snap(snap_compare, app, run)


def test_quit_while_the_price_is_awaited(snap_compare, tmp_path):
    app = make_app(tmp_path)

    async def run(pilot):
        app.held.append(await esimgo_japan_holding(pilot, app, "quote", "ctrl+q"))

    assert _snap(snap_compare, app, run)


def test_quit_with_the_qr_on_screen(snap_compare, tmp_path):
    async def run(pilot):
        await sell_japan(pilot, pilot.app)
        await pilot.press("ctrl+q")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run)
