"""Regenerate screenshots/ from the real app on the sandbox (fixed time and data, like the snapshot tests).

    python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.conftest import make_app, settle  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, keys: tuple[str, ...], size=(110, 32), after=None) -> None:
    from textual.widgets import Input

    Input._toggle_cursor = lambda self: None  # no blink in pictures
    app = make_app(Path(tempfile.mkdtemp()))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press(*keys)
        await settle(pilot, app)
        if after is not None:
            await after(app, pilot)
            await settle(pilot, app)
        app.save_screenshot(f"{name}.svg", str(OUT))
    print(f"screenshots/{name}.svg")


async def _follow(app, pilot) -> None:
    await app.train("install")
    await app.train("usage", 250_000_000)
    app.order_changed((await app.follower.poll(app.target_order())).order)
    app.clear_notifications()
    await pilot.press("escape")


async def _desk(app, pilot) -> None:
    """The eSIM Go sale installed and in use, then found at the desk by its ICCID's last digits."""
    await _follow(app, pilot)
    order = next(iter(app.orders.values()))
    await settle(pilot, app)
    await pilot.press("f2")
    await settle(pilot, app)
    await pilot.press(*order.iccid[-4:], "enter")
    await settle(pilot, app)
    await pilot.press("r")


ESIMGO_SALE = (*"Japan", "enter", "down", "enter", "y")  # the second Japan plan is eSIM Go's


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    await shoot("catalogue", tuple("jap"))
    await shoot("plans", (*"Japan", "enter"))
    await shoot("confirm", (*"Japan", "enter", "enter"))
    await shoot("delivery", (*"Japan", "enter", "enter", "y"), size=(110, 34))
    await shoot("status", ESIMGO_SALE, after=_follow)
    await shoot("order", ESIMGO_SALE, after=_desk)


if __name__ == "__main__":
    asyncio.run(main())
