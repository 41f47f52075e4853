"""What each screen looks like, in each of its states (fixed data, fixed time, no animation, no blink)."""

from __future__ import annotations

import pytest

from esim_tui.domain.errors import ProviderUnreachable
from tests.conftest import make_sandbox
from tests.ui.conftest import PLAN_UNAVAILABLE, Held, confirmed, make_app, post_now, ready, sell_esimgo_japan, settle, to_placing, typed


def test_catalogue_at_start(snap_compare, tmp_path):
    """The destination search has focus; every destination with its plan count, lowest price, providers."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=ready)


def test_catalogue_filtered(snap_compare, tmp_path):
    """Typing 'jap' leaves Japan first."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=typed(*"jap"))


def test_catalogue_no_match(snap_compare, tmp_path):
    """A search that matches nothing says what to try instead."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=typed(*"zzzz"))


def test_catalogue_loading(snap_compare, tmp_path):
    """While the providers answer, the catalogue shows that it is loading."""
    app = make_app(tmp_path)
    held = Held()
    for provider in app.sales.providers.values():
        provider.plans = held

    async def run(pilot):
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run)
    held.release()


def test_catalogue_provider_down(snap_compare, tmp_path):
    """An unreachable provider: a clear message, nothing else breaks."""
    app = make_app(tmp_path)

    async def down(*, refresh=False):
        raise ProviderUnreachable("octopus", "the connection was refused")  # as the adapter words a refused connection

    for provider in app.sales.providers.values():
        provider.plans = down
    assert snap_compare(app, terminal_size=(100, 30), run_before=ready)


def test_plans_for_japan(snap_compare, tmp_path):
    """The guide's three Japan plans side by side, sorted by price, with the detail pane."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=typed(*"Japan", "enter"))


def test_plans_for_france_with_the_regional_plans(snap_compare, tmp_path):
    """France's plans with the Europe and Global plans covering it sorted in by price and marked with
    their coverage; the highlighted Europe plan's detail says it covers France."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=typed(*"France", "enter", "down", "down"))


def test_plans_at_80x24(snap_compare, tmp_path):
    """At 80x24 the plans table keeps plan, price, data and validity whole; the provider shortens."""
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24), run_before=typed(*"France", "enter", "down", "down"))


def test_confirmation_with_quote(snap_compare, tmp_path):
    """The plan, the provider's quote after the client discount, and the reference that will be sent."""
    assert snap_compare(make_app(tmp_path), terminal_size=(100, 30), run_before=confirmed())


def test_confirmation_placing(snap_compare, tmp_path):
    """The busy state after y while the provider is slow to answer."""
    sandbox = make_sandbox()
    post_now(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "delay", "seconds": 2})
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_placing(pilot, app)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run)


def test_delivery_qr(snap_compare, tmp_path):
    """The delivered eSIM: the QR beside the activation code, SM-DP+, matching ID, ICCID and links."""
    assert snap_compare(make_app(tmp_path), terminal_size=(110, 32), run_before=confirmed("y"))


def test_delivery_terminal_too_small(snap_compare, tmp_path):
    """Too small for the QR: a clear message and the manual codes, never a broken QR."""
    assert snap_compare(make_app(tmp_path), terminal_size=(70, 20), run_before=confirmed("y"))


def test_failed_order_with_alternatives(snap_compare, tmp_path):
    """FAILED, user-fixable: the reason, the refund, the other plans for the destination."""
    sandbox = make_sandbox()
    post_now(sandbox, "/_sandbox/faults", PLAN_UNAVAILABLE)
    assert snap_compare(make_app(tmp_path, sandbox), terminal_size=(100, 30), run_before=confirmed("y"))


def test_status_panel_following_orders(snap_compare, tmp_path):
    """Back at the catalogue: the sold eSIM Go eSIM in the live status panel, installed, its data falling."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await sell_esimgo_japan(pilot, app)
        await app.train("install")
        await app.train("usage", 250_000_000)
        order = app.target_order()
        app.order_changed((await app.follower.poll(order)).order)
        await pilot.press("escape")
        app.clear_notifications()  # the training toasts would cover the panel
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run)


@pytest.mark.parametrize("theme", ["esim-light", "esim-high-contrast"])
def test_themes(snap_compare, tmp_path, theme):
    """The light and high-contrast themes on the plan choice."""
    app = make_app(tmp_path)
    app.theme = theme
    assert snap_compare(app, terminal_size=(100, 30), run_before=typed(*"Japan", "enter"))


def test_key_panel(snap_compare, tmp_path):
    """F1: every key of the screen and the app, with its binding."""
    assert snap_compare(make_app(tmp_path), terminal_size=(110, 30), run_before=typed("f1"))


def test_command_palette_on_the_sandbox(snap_compare, tmp_path):
    """ctrl+p on the catalogue: the sell commands, the themes and the sandbox's training controls."""
    assert snap_compare(make_app(tmp_path), terminal_size=(110, 30), run_before=typed("ctrl+p"))
