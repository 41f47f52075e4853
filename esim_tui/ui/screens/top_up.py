"""Support, top up: the plans that fit a sold eSIM, checked with the provider. Enter chooses one and
goes to the same confirmation as a sale; nothing is charged before `y`."""

from __future__ import annotations

from textual import work
from textual.widgets import Static

from esim_tui.ui.screens.base import ShowsWorkerFailures
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.orders import Order
from esim_tui.domain.plans import Plan
from esim_tui.services.catalogue import DestinationOffer
from esim_tui.services.wording import customer
from esim_tui.ui.screens.plans import PlansScreen
from esim_tui.ui.widgets.offer_table import OfferTable

CHECKING = "Asking the provider which plans fit this eSIM…"


class TopUpScreen(ShowsWorkerFailures, PlansScreen):
    BINDING_GROUP_TITLE = "Top up"

    def __init__(self, order: Order) -> None:
        destination = order.plan.destination
        super().__init__(DestinationOffer(destination, (), None, (order.provider,)))
        self.order = order

    def title_line(self) -> str:
        return f"Top up the eSIM of {customer(self.order)} · ICCID {self.order.iccid or '—'} · {self.order.plan.destination.label}"

    def on_mount(self) -> None:
        table = self.query_one("#plans", OfferTable)
        table.empty_text = CHECKING
        table.focus()
        self.query_one("#plans-sort", Static).update("")
        self.load_plans()

    @work(exclusive=True, group="top-up-plans", exit_on_error=False, description="Finding plans that fit the eSIM")
    async def load_plans(self) -> None:
        table = self.query_one("#plans", OfferTable)
        try:
            plans = tuple(await self.esim_app.sales.top_up_plans(self.order))
        except EsimTuiError as exc:
            table.empty_text = exc.message
            table.refresh_rows()
            return
        lowest = min((p.price for p in plans), key=lambda m: m.amount, default=None)
        self.offer = DestinationOffer(self.offer.destination, plans, lowest, self.offer.providers)
        table.empty_text = "No plan on sale fits this eSIM."
        self._apply_sort()

    def choose(self, plan: Plan) -> None:
        self.esim_app.confirm_plan(plan, top_up_of=self.order)
