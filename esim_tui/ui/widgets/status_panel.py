"""The live status panel: every order still in play, what state it is in, and how much data is left."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from esim_tui.ui.widgets.offer_table import Column, OfferTable

if TYPE_CHECKING:
    from esim_tui.domain.orders import Order

# The wording (and the order model behind it) is imported when the first order is shown: the first
# paint of the counter has none to show yet.

COLUMNS = (
    Column("Customer", 16),
    Column("Plan", 24, flex=True),
    Column("State", 25),  # "Delivered, not installed" whole
    Column("Data left", 17),  # a bar and "999 MB" whole
    Column("Valid until", 17),  # "04 Jan 2027 09:00" whole: a date in another year shows its year
)


def _row(order: Order) -> tuple[str, ...]:
    from esim_tui.services.wording import customer, data_left, order_state, short_time, top_up_mark

    return (
        customer(order),
        f"{top_up_mark(order.kind)}{order.plan.name}",  # the provider's own name, whole ("Unlimited Lite")
        order_state(order),
        data_left(order),
        short_time(order.expires_at),
    )


class StatusPanel(Vertical):
    """Orders in play (refunded ones leave), newest first; updated as polls and sales report back. Enter opens one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.orders: list[Order] = []
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("Orders in play", classes="panel-title", markup=False)
        yield OfferTable(COLUMNS, _row, empty_text="No orders in play. Sold eSIMs appear here until they expire.", id="orders-in-play")
        yield Static("", id="status-error", markup=False)

    @property
    def table(self) -> OfferTable:
        return self.query_one("#orders-in-play", OfferTable)

    def show(self, orders: list[Order]) -> None:
        keep = self.table.highlighted
        # A refunded sale is over: nothing left to hand over or follow.
        self.orders = sorted((o for o in orders if not o.refunded), key=lambda o: o.created_at, reverse=True)
        self.table.set_rows(self.orders, keep=next((o for o in self.orders if keep and o.id == keep.id), None))
        self._show_error()

    def update_order(self, order: Order, error: str | None = None) -> None:
        """Put the latest state of ``order`` in the panel (adding it when new)."""
        if error:
            self.errors[order.id] = error
        else:
            self.errors.pop(order.id, None)
        others = [o for o in self.orders if o.id != order.id]
        self.show([order, *others])

    def _show_error(self) -> None:
        banner = self.query_one("#status-error", Static)
        if self.errors:
            from esim_tui.services.wording import customer

            order_id, message = next(iter(self.errors.items()))
            who = next((customer(o) for o in self.orders if o.id == order_id), order_id)
            banner.update(f"Last check of {who} failed: {message} Still following; the panel keeps going.")
        else:
            banner.update("")
