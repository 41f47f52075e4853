"""Every screen at 80x24, the smallest terminal the README promises, in the default and the high-contrast
theme: nothing cut, nothing overlapping, the QR drawn whole."""

from __future__ import annotations

import pytest

from tests.conftest import make_sandbox
from tests.ui.conftest import (
    PLAN_UNAVAILABLE,
    confirmed,
    make_app,
    post_now,
    ready,
    sell_japan,
    to_detail,
    to_orders_list,
    to_placing,
    to_refund_of_an_unstarted_bundle,
    to_settle_choosing,
    typed,
    without_waits,
)

SIZE = (80, 24)
THEMES = pytest.mark.parametrize("theme", ["esim-dark", "esim-high-contrast"])


def _app(tmp_path, theme, sandbox=None):
    app = make_app(tmp_path, sandbox or make_sandbox())
    app.theme = theme
    return app


@THEMES
def test_catalogue(snap_compare, tmp_path, theme):
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=ready)


@THEMES
def test_plans_for_japan(snap_compare, tmp_path, theme):
    """Price, data and validity of every plan without a column cut."""
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=typed(*"Japan", "enter"))


@THEMES
def test_confirmation_with_quote(snap_compare, tmp_path, theme):
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=confirmed())


@THEMES
def test_placing(snap_compare, tmp_path, theme):
    sandbox = make_sandbox()
    post_now(sandbox, "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "delay", "seconds": 2})
    app = _app(tmp_path, theme, sandbox)

    async def run(pilot):
        await to_placing(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_delivery(snap_compare, tmp_path, theme):
    """The QR whole (41x21) beside the codes, which scroll."""
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=confirmed("y"))


@THEMES
def test_delivery_with_a_long_name(snap_compare, tmp_path, theme):
    """St. Helena, Ascension & Tristan da Cunha: the title is cut with an ellipsis, the QR keeps its rows."""
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=typed(*"Tristan", "enter", "enter", "y"))


@THEMES
def test_failed_order_with_alternatives(snap_compare, tmp_path, theme):
    sandbox = make_sandbox()
    post_now(sandbox, "/_sandbox/faults", PLAN_UNAVAILABLE)
    assert snap_compare(_app(tmp_path, theme, sandbox), terminal_size=SIZE, run_before=confirmed("y"))


@THEMES
def test_orders_list(snap_compare, tmp_path, theme):
    app = _app(tmp_path, theme)

    async def run(pilot):
        await to_orders_list(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_order_detail(snap_compare, tmp_path, theme):
    sandbox = make_sandbox()
    app = _app(tmp_path, theme, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox, used_bytes=250_000_000)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_export_dialog(snap_compare, tmp_path, theme):
    app = _app(tmp_path, theme)
    app.ctx.settings.ui.export_folder = tmp_path.__class__("/srv/shop/esim-exports")

    async def run(pilot):
        await sell_japan(pilot, app)
        await pilot.press("e")
        await ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_refund_dialog(snap_compare, tmp_path, theme):
    app = _app(tmp_path, theme)

    async def run(pilot):
        await to_refund_of_an_unstarted_bundle(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_settle_by_hand(snap_compare, tmp_path, theme):
    sandbox = make_sandbox()
    app = without_waits(_app(tmp_path, theme, sandbox))

    async def run(pilot):
        await to_settle_choosing(pilot, app, sandbox)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_top_up_plans(snap_compare, tmp_path, theme):
    sandbox = make_sandbox()
    app = _app(tmp_path, theme, sandbox)

    async def run(pilot):
        await to_detail(pilot, app, sandbox)
        await pilot.press("t")
        await ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@THEMES
def test_keys(snap_compare, tmp_path, theme):
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=typed("f1"))


@THEMES
def test_command_palette(snap_compare, tmp_path, theme):
    assert snap_compare(_app(tmp_path, theme), terminal_size=SIZE, run_before=typed("ctrl+p"))
