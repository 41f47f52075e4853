"""When a sale did not end in a QR: it failed, it expired, or its outcome is not settled yet."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from esim_tui.domain.orders import ActivationStatus, Order, OrderStatus
from esim_tui.domain.plans import Plan
from esim_tui.services.wording import customer, order_state, past_validity, plan_summary
from esim_tui.ui.screens.plans import COLUMNS, _row
from esim_tui.ui.widgets.offer_table import OfferTable
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


def explain(order: Order, now: datetime | None = None) -> str:
    """What happened to the order (at ``now``) and what the agent can do, in plain words."""
    name = order.provider.display
    if order.needs_attention:
        return f"{order.needs_attention}\nClient reference {order.client_reference}: quote it to {name} support."
    if order.status is OrderStatus.FAILED and order.failure is not None:
        if order.failure.code.startswith("NOT_PLACED"):
            return f"The order was not placed: {order.failure.reason}"
        lines = [f"{name} could not deliver this eSIM: {order.failure.reason} ({order.failure.code})."]
        lines.append("The shop's wallet was refunded automatically; the customer was not charged.")
        if order.failure.is_user_fixable:
            lines.append("Choose another plan for the same destination below.")
        else:
            lines.append("This is a problem on the provider's side. Try again later or choose another provider.")
        return "\n".join(lines)
    if order.activation_status is ActivationStatus.EXPIRED or past_validity(order, now):
        return (
            "This eSIM's plan has expired: its validity ran out. There is no refund once the code was issued.\n"
            "Press n to sell a new plan for the same destination."
        )
    if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        return f"{name} is still preparing this eSIM. esim-tui keeps checking and shows it as soon as it is ready."
    return order_state(order, now)


class OrderOutcomeScreen(Screen):
    BINDING_GROUP_TITLE = "Order"
    BINDINGS = [
        Binding("escape", "done", "Back", id="outcome.back"),
        Binding("n", "new_sale", "New sale here", id="outcome.new_sale"),
        Binding("a", "settle", "Settle by hand", id="outcome.settle"),
    ]

    def __init__(self, order: Order, alternatives: tuple[Plan, ...] = ()) -> None:
        super().__init__()
        self.order = order
        self.alternatives = alternatives

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        order = self.order
        yield TopBar()
        with Vertical(id="outcome-box"):
            now = self.esim_app.sales.now()
            yield Static(f"{order_state(order, now)}: {customer(order)} · {order.plan.name} ({plan_summary(order.plan)})", classes="screen-title", markup=False)
            yield Static(explain(order, now), id="outcome-text", markup=False)
            if self.alternatives:
                yield Static("Other plans for this destination", classes="panel-title", markup=False)
                yield OfferTable(COLUMNS, _row, id="alternatives")
        yield Footer()

    def on_mount(self) -> None:
        if self.alternatives:
            table = self.query_one("#alternatives", OfferTable)
            table.set_rows(self.alternatives)
            table.focus()

    @on(OfferTable.Chosen, "#alternatives")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.esim_app.confirm_plan(event.row)

    def action_done(self) -> None:
        self.app.pop_screen()

    def action_new_sale(self) -> None:
        self.esim_app.new_sale_for(self.order.plan.destination.key)

    def action_settle(self) -> None:
        self.esim_app.settle_by_hand(self.order)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "settle":
            return self.order.status is OrderStatus.UNKNOWN
        return True
