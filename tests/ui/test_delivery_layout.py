"""The handover screen at the smallest terminal the README promises (80x24): the QR gets its room first
whatever the names' length, and the manual codes are never broken inside a token."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import ScrollableContainer

from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.widgets.code_text import CodeText, lpa_parts, pack
from esim_tui.ui.widgets.qr_code import QrCode
from tests.ui.conftest import make_app, settle
from tests.ui.test_qr_code import scan, screen_text


pytestmark = pytest.mark.anyio

#: The longest destination name the sandbox sells (40 characters).
LONG_NAME = "St. Helena, Ascension & Tristan da Cunha"


async def _sell(pilot, app, search: str) -> None:
    await settle(pilot, app)
    await pilot.press(*search, "enter", "enter")
    await settle(pilot, app)
    await pilot.press("y")
    await settle(pilot, app)
    assert isinstance(app.screen, DeliveryScreen)


@pytest.mark.parametrize(
    ("search", "size", "form"),
    [
        ("Japan", (80, 24), "compact"),
        ("Tristan", (80, 24), "compact"),  # the long name is cut in the title, not given the QR's rows
        ("Tristan", (100, 30), "compact"),
        ("Japan", (200, 50), "large"),
    ],
    ids=["japan-80x24", "long-name-80x24", "long-name-100x30", "japan-large-200x50"],
)
async def test_the_qr_is_drawn_and_scans_to_the_stored_code(tmp_path, search, size, form):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _sell(pilot, app, search)
        order = app.screen.order
        qr = app.screen.query_one(QrCode)
        assert qr.rendered_form == form  # not the "terminal too small" message
        assert scan(app, qr.region) == [order.activation_code]
        title = app.screen.query_one("#delivery-title")
        assert title.region.height == 1
        lines = screen_text(app).splitlines()
        assert "Delivered, not installed" in lines[1]  # the state is never what the ellipsis cuts
        if search == "Tristan" and size == (80, 24):
            assert order.plan.destination.name == LONG_NAME
            assert LONG_NAME not in lines[1] and "… · Delivered, not installed" in lines[1]  # cut, on one line
            pane = [line[line.rfind("▀") + 1 :].strip() for line in lines]
            assert order.plan.name in " ".join(pane)  # the full name, in the pane beside the QR


async def test_manual_codes_are_never_broken_inside_a_token(tmp_path):
    """At 80x24 the SM-DP+ address and the matching ID each sit whole on a line, and the activation
    code wraps only at its '$' separators; the lines read in order give back the code to type."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _sell(pilot, app, "Japan")
        code = app.screen.order.activation
        lines = [line.strip() for line in screen_text(app).splitlines()]
        pane = [line[line.rfind("▀") + 1 :].strip() for line in lines]  # what stands right of the QR
        assert code.smdp_address in pane and code.matching_id in pane
        first = pane.index("Activation code (c copies it whole)") + 1
        shown = pane[first : pane.index("", first)]
        assert len(shown) > 1 and "".join(shown) == code.lpa  # it does wrap at 80 columns...
        parts = lpa_parts(code.lpa)
        between_parts = {len("".join(parts[:k])) for k in range(len(parts) + 1)}
        assert {len("".join(shown[:k])) for k in range(len(shown) + 1)} <= between_parts  # ...between parts only
        assert app.screen.order.iccid in pane


def test_code_lines_break_only_between_parts():
    parts = lpa_parts("LPA:1$rsp.sandbox.octopuscards.example$K2-4CVQ7B-9MZXTLA")
    assert parts == ["LPA:1$", "rsp.sandbox.octopuscards.example$", "K2-4CVQ7B-9MZXTLA"]
    assert pack(parts, 80) == ["LPA:1$rsp.sandbox.octopuscards.example$K2-4CVQ7B-9MZXTLA"]
    assert pack(parts, 40) == ["LPA:1$rsp.sandbox.octopuscards.example$", "K2-4CVQ7B-9MZXTLA"]
    assert pack(parts, 38) == parts
    assert pack(parts, 10) == parts  # narrower than a part: each part still whole, on its own line
    assert lpa_parts("LPA:1$smdp.example$") == ["LPA:1$", "smdp.example$"]


class _Narrow(App):
    CSS = "ScrollableContainer { width: 20; height: 5; }"

    def compose(self) -> ComposeResult:
        with ScrollableContainer():
            yield CodeText(["smdp-plus.rsp.eu-west-1.provider-example.travel"])


async def test_a_part_longer_than_the_pane_scrolls_sideways_instead_of_breaking():
    app = _Narrow()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        widget = app.query_one(CodeText)
        assert widget.region.height == 1 and widget.size.width == 47
        assert app.query_one(ScrollableContainer).max_scroll_x > 0


async def test_the_codes_pane_scrolls_to_the_links_and_the_reference(tmp_path):
    """At 80x24 the links and the client reference are below the pane's fold: Down brings them up,
    and the QR stays where it is."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _sell(pilot, app, "Japan")
        order = app.screen.order
        assert order.client_reference not in screen_text(app)
        qr = app.screen.query_one(QrCode).region
        await pilot.press(*["down"] * 20)
        await settle(pilot, app)
        assert order.client_reference in screen_text(app)
        assert app.screen.query_one(QrCode).region == qr and scan(app, qr) == [order.activation_code]
