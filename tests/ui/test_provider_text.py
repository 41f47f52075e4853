"""Text from a provider is shown as it is written: markup, links and escape sequences do nothing.

A sandbox whose Octopus Cards plan for Japan is named and described with Textual/Rich markup, an action
link, terminal escape sequences (ESC, the 8-bit CSI 0x9B, an OSC 8 hyperlink) and a right-to-left
override. The agent sells it from the keyboard: every screen shows the name literally, nothing runs,
and the control characters are gone.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.order_detail import OrderDetailScreen
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.sandbox.octopus_catalogue import Catalogue
from tests.conftest import make_sandbox
from tests.ui.conftest import make_app, settle
from tests.ui.test_qr_code import screen_text

pytestmark = pytest.mark.anyio

HOSTILE = "[@click=app.quit]JP[/] [link=https://evil.example]1GB[/link] [b]x\x1b]8;;https://evil.example\x07\x9b2J\u202eY"
SHOWN = "[@click=app.quit]JP[/] [link=https://evil.example]1GB[/link] [b]x]8;;https://evil.example2JY"


def shown_literally(app) -> bool:
    """Every word of SHOWN is on screen as written (a narrow pane may wrap it between words)."""
    text = screen_text(app)
    return all(word in text for word in SHOWN.split())


def hostile_sandbox():
    """The cheapest Octopus Cards plan for Japan named and described with HOSTILE."""
    sandbox = make_sandbox()
    octopus = sandbox.providers["octopus"]
    catalogue = octopus.catalogue
    japan = next(p for p in catalogue.products.values() if p.country_code == "JPN")
    first, *rest = catalogue.variants_of(japan.id, include_inactive=True)
    renamed = replace(first, name=HOSTILE, description=HOSTILE)
    octopus.catalogue = Catalogue(
        catalogue.products,
        MappingProxyType({**catalogue.variants, first.id: renamed}),
        MappingProxyType({**catalogue._by_product, japan.id: (renamed, *rest)}),
    )
    return sandbox


async def test_a_plan_named_with_markup_and_escapes_is_shown_literally_on_every_screen(tmp_path):
    app = make_app(tmp_path, hostile_sandbox())
    async with app.run_test(size=(160, 44)) as pilot:
        await settle(pilot, app)
        await pilot.press(*"Japan", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen)
        rows = app.screen.query_one("#plans").rows
        at = next(i for i, plan in enumerate(rows) if plan.name == SHOWN)  # cleaned once, by the adapter
        for _ in range(at):
            await pilot.press("down")
        await settle(pilot, app)
        assert shown_literally(app)  # in the detail pane, whole
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen) and shown_literally(app)
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)  # it names the plan by destination, data and days
        sold = app.screen.order
        assert sold.plan.name == SHOWN and sold.plan.description == SHOWN  # the record keeps the clean text
        await pilot.press("escape")
        app.open_order_detail(sold)
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        facts = [str(w.render()) for w in app.screen.query(".fact-value")]
        assert SHOWN in facts and "[@click=app.quit]JP[/]" in screen_text(app)  # wrapped in its column
        assert app.is_running  # [@click=app.quit] ran nothing
        for ch in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert ch not in screen_text(app)
