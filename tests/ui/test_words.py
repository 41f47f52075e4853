"""What the counter reads never shows the program's insides: no class names in F1 or in a failure."""

from __future__ import annotations

import httpx
import pytest

from esim_tui.ui.screens.keys import KeysScreen
from tests.ui.conftest import make_app, settle, to_confirmation

pytestmark = pytest.mark.anyio


def _class_names(app) -> set[str]:
    screens = app.screen_stack
    return {cls.__name__ for screen in screens for node in screen.walk_children(with_self=True) for cls in type(node).__mro__}


async def test_f1_groups_the_keys_under_the_screens_words_never_a_class_name(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        for keys in ((), ("J", "a", "p", "a", "n", "enter")):  # the catalogue, then Japan's plans (an OfferTable)
            await pilot.press(*keys)
            await settle(pilot, app)
            names = _class_names(app)
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, KeysScreen)
            groups = {k.group for k in app.screen.keys}
            assert groups and not groups & names, groups
            assert groups <= {"Sell", "Plans", "Everywhere"}
            await pilot.press("f1")
            await pilot.pause()


async def test_an_unexpected_failure_is_told_without_its_class_name(tmp_path):
    app = make_app(tmp_path)

    async def broken(plan):
        raise httpx.ConnectError("[Errno 111] Connection refused")  # escaped the adapter: a bug

    app.ctx.sales.quote = broken
    async with app.run_test(size=(120, 40)) as pilot:
        await to_confirmation(pilot, app)
        await settle(pilot, app)
        problems = [n.message for n in app._notifications if n.title == "Problem"]
        assert problems == ["Something unexpected went wrong; the order records are safe and the log beside the order file says more."]
        assert "ConnectError" not in problems[0] and "Errno" not in problems[0]
