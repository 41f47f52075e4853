"""A regional plan chosen from a country's list sells exactly as from its region."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import OrderStatus
from esim_tui.ui.screens.confirm import ConfirmScreen
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.ui.widgets.offer_table import OfferTable
from tests.conftest import make_sandbox
from tests.ui.conftest import choose_plan, ledger, make_app, settle

pytestmark = pytest.mark.anyio


async def test_a_europe_plan_bought_from_frances_list_is_sold_as_the_europe_plan(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press(*"France", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PlansScreen)
        rows = app.screen.query_one("#plans", OfferTable).rows
        europe = next(p for p in rows if p.name == "Europe 1 GB / 7 days")
        assert europe is app.catalogue.offer("region:Europe").plans[0]  # the same Plan as in Europe's list
        assert [p.price.amount for p in rows] == sorted(p.price.amount for p in rows)
        assert rows.index(europe) == 2  # between Octopus's France 0.5 GB (4.10) and eSIM Go's France Unlimited (5.48)
        await pilot.press("escape", "escape")
        await choose_plan(pilot, app, "France", "Europe 1 GB / 7 days", "esimgo")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Europe" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, DeliveryScreen)
        (order,) = app.ctx.store.all()
        assert order.status is OrderStatus.DELIVERED
        assert (order.plan.plan_id, order.plan.destination.key) == (europe.plan_id, "region:Europe")
        assert order.plan.coverage == europe.coverage and "FR" in order.plan.coverage
        charges = await ledger(sandbox, "esimgo")
        assert [(c["order_id"], c["amount"]) for c in charges] == [(order.provider_order_id, "4.32")]  # at Europe's price
        title = str(app.screen.query_one("#delivery-title").render())
        assert "Europe 1 GB" in title and "France" not in title  # what was sold: the Europe plan
        assert order.activation_code in " ".join(str(w.render()) for w in app.screen.query(".code-value"))
