"""What the support desk's screens look like, in each of their states (fixed data, fixed time)."""

from __future__ import annotations

import threading

from esim_tui.domain.errors import ProviderTimeout
from esim_tui.services import support
from tests.conftest import make_sandbox
from tests.ui.conftest import (
    Held,
    esimgo_sale_meeting,
    make_app,
    sell_japan,
    settle,
    to_detail,
    to_orders_list,
    to_refund_of_an_unstarted_bundle,
    to_settle_choosing,
    to_unsettled_detail,
    without_waits,
)

SIZE = (110, 32)


def test_orders_list(snap_compare, tmp_path):
    """F2: every order newest first with its state, ICCID tail and provider; the filters above."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_orders_list(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_orders_list_empty(snap_compare, tmp_path):
    """No sale yet: the list says where sales will appear."""

    async def run(pilot):
        await settle(pilot, pilot.app)
        await pilot.press("f2")
        await settle(pilot, pilot.app)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run)


def test_orders_list_loading(snap_compare, tmp_path, monkeypatch):
    """While years of records are read, the list says so (the screen stays usable)."""
    gate = threading.Event()
    real_load = support.OrderFinder.load

    def slow_load(store, now=None):
        gate.wait(10)
        return real_load(store, now)

    monkeypatch.setattr(support.OrderFinder, "load", staticmethod(slow_load))

    async def run(pilot):
        await settle(pilot, pilot.app)
        await pilot.press("f2")
        await pilot.pause()

    try:
        assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run)
    finally:
        gate.set()


def test_order_detail_with_data_used(snap_compare, tmp_path):
    """One order: facts, the bundle with data used and left, and the timeline."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox, used_bytes=250_000_000)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_order_detail_when_the_provider_does_not_answer(snap_compare, tmp_path):
    """A refresh that fails says so on the detail; nothing else changes."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox)
        provider = app.sales.providers[app.screen.order.provider]

        async def timeout(order):
            raise ProviderTimeout(provider.name)

        provider.esim_status = timeout
        await pilot.press("r")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_top_up_plans(snap_compare, tmp_path):
    """t on an eSIM Go eSIM: only the plans that fit it, cheapest first."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox)
        await pilot.press("t")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_top_up_checking(snap_compare, tmp_path):
    """While the provider says which plans fit, the list says it is asking."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    held = Held()

    async def run(pilot):
        await to_detail(pilot, app, sandbox)
        app.sales.top_up_plans = held
        await pilot.press("t")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    held.release()


def test_refund_refused_for_a_started_bundle(snap_compare, tmp_path):
    """x on a bundle in use: why it cannot be refunded, and nothing to confirm."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox, used_bytes=1_000_000)
        await pilot.press("x")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_refund_of_an_unstarted_bundle(snap_compare, tmp_path):
    """x on a bundle never started: what would go back to the balance; y to refund."""
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)

    async def run(pilot):
        await to_refund_of_an_unstarted_bundle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_export_dialog(snap_compare, tmp_path):
    """e: the folder to export to, prefilled from the config, with the privacy warning."""
    app = make_app(tmp_path)
    app.ctx.settings.ui.export_folder = tmp_path.__class__("/srv/shop/esim-exports")

    async def run(pilot):
        await sell_japan(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_settle_by_hand_choosing_the_providers_order(snap_compare, tmp_path):
    """a on a sale needing attention: the provider's possible orders and 'none'; Enter asks for y."""
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))

    async def run(pilot):
        await to_settle_choosing(pilot, app, sandbox)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_settle_by_hand_when_the_provider_does_not_answer(snap_compare, tmp_path):
    """eSIM Go still cannot list its orders: the dialog says so and offers nothing to choose."""
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))

    async def run(pilot):
        await to_unsettled_detail(pilot, app, sandbox)
        await pilot.press("a")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_settle_by_hand_asking(snap_compare, tmp_path):
    """While the provider is asked for possible orders, the dialog shows it is busy."""
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))
    held = Held([])

    async def run(pilot):
        await to_unsettled_detail(pilot, app, sandbox)
        app.sales.possible_orders = held
        await pilot.press("a")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
    held.release()


def test_outcome_unknown_right_after_the_sale(snap_compare, tmp_path):
    """The counter's view when eSIM Go charged but its answer was lost: the facts, the reference to quote,
    and a to settle by hand once the portal was checked."""
    sandbox = make_sandbox()
    app = without_waits(make_app(tmp_path, sandbox))

    async def run(pilot):
        await esimgo_sale_meeting(pilot, app, sandbox, {"kind": "drop_after_commit"}, lookups_fail=True)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
