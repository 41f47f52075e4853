"""The live status panel: every order still in play, what state it is in, and how much data is left."""

from __future__ import annotations

from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from esim_tui.ui.widgets.offer_table import Column, OfferTable

if TYPE_CHECKING:
    from esim_tui.domain.orders import Order

# The wording (and the order model behind it) is imported when the first order is shown: the first
# paint of the counter has none to show yet.

#: Enter (or a command on the highlighted order) when the order the agent had highlighted has left the list.
ORDER_LEFT = "The order you had highlighted has left this list; choose one."

COLUMNS = (
    Column("Customer", 16),
    Column("Plan", 24, flex=True),
    Column("State", 25),  # "Delivered, not installed" whole
    Column("Data left", 17),  # a bar and "999 MB" whole
    Column("Valid until", 17),  # "04 Jan 2027 09:00" whole: a date in another year shows its year
)


#: How often the panel looks at the clock: orders run out of validity, and finished ones leave.
RECHECK_SECONDS = 60.0


def _row(order: Order, now: datetime | None = None) -> tuple[str, ...]:
    from esim_tui.services.wording import (
        customer,
        data_left,
        order_state,
        short_time,
        top_up_mark,
    )

    return (
        customer(order),
        f"{top_up_mark(order.kind)}{order.plan.name}",  # the provider's own name, whole ("Unlimited Lite")
        order_state(order, now),
        data_left(order),
        short_time(order.expires_at),
    )


class StatusPanel(Vertical):
    """Orders in play, newest first; updated as polls and sales report back. Enter opens one. Expired and
    refunded ones leave ``ui.keep_finished_hours`` after they ended."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.orders: list[Order] = []  # those listed
        self.known: list[Order] = []  # every order given, listed or not (one may come back, e.g. flagged)
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("Orders in play", classes="panel-title", markup=False)
        yield OfferTable(
            COLUMNS,
            lambda order: _row(order, self._now()),
            empty_text="No orders in play. Sold eSIMs appear here until they expire.",
            key=attrgetter("id"),
            left_text=ORDER_LEFT,
            id="orders-in-play",
        )
        yield Static("", id="status-error", markup=False)

    @property
    def table(self) -> OfferTable:
        return self.query_one("#orders-in-play", OfferTable)

    def on_mount(self) -> None:
        self.set_interval(RECHECK_SECONDS, self.recheck)

    def _now(self) -> datetime | None:
        sales = getattr(self.app, "sales", None)  # None before the app has booted: no order to show yet
        return sales.now() if sales is not None else None

    def recheck(self) -> None:
        """Show the orders as they stand now (validity run out, finished ones gone)."""
        if self.known:
            self.show(self.known)

    def show(self, orders: list[Order]) -> None:
        from esim_tui.store.policy import shows_in_play

        self.known = list(orders)
        now = self._now()
        ctx = getattr(self.app, "ctx", None)
        hours = ctx.settings.ui.keep_finished_hours if ctx is not None else 24.0
        listed = [o for o in orders if now is None or shows_in_play(o, now, timedelta(hours=hours))]
        self.orders = sorted(listed, key=lambda o: o.created_at, reverse=True)
        self.table.set_rows(self.orders, keep=True)  # polls and sales change it under the agent
        self._show_error()

    def update_order(self, order: Order, error: str | None = None) -> None:
        """Put the latest state of ``order`` in the panel (adding it when new)."""
        if error:
            self.errors[order.id] = error
        else:
            self.errors.pop(order.id, None)
        others = [o for o in self.known if o.id != order.id]
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
