"""Sell, top up an eSIM (Ctrl+T on the catalogue): a returning customer's eSIM found by the last digits
of its ICCID (or their name, the reference), then the same top-up as the support desk's, without F2."""

from __future__ import annotations

from operator import attrgetter

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from esim_tui.domain.orders import OrderKind
from esim_tui.services.support import OrderFilter, OrderRow
from esim_tui.ui.screens.base import list_keys
from esim_tui.ui.screens.orders import COLUMNS, LOADING, FindsOrders
from esim_tui.ui.widgets.offer_table import OfferTable
from esim_tui.ui.widgets.status_panel import ORDER_LEFT
from esim_tui.ui.widgets.top_bar import TopBar

#: No eSIM came of these: nothing to top up.
NO_ESIM = (OrderFilter.FAILED, OrderFilter.PENDING)


def has_esim(row: OrderRow) -> bool:
    """A sale that delivered an eSIM (a top-up adds to its first sale's eSIM, which is the one listed)."""
    return row.kind is not OrderKind.TOP_UP and bool(row.iccid) and row.stage not in NO_ESIM


class TopUpFinderScreen(FindsOrders):
    SEARCH = "#esim-search"
    LIST = "#esim-list"
    BINDING_GROUP_TITLE = "Top up an eSIM"
    BINDINGS = [
        *list_keys("top_up_finder"),
        Binding("enter", "choose", "Top up", id="top_up_finder.choose", priority=True),
        Binding("escape", "back", "Back", id="top_up_finder.back"),
    ]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static("Top up an eSIM: the eSIMs sold here, newest first", classes="screen-title", markup=False)
        yield Input(placeholder="Last digits of the ICCID (on the phone: Settings, About), or the customer's name", id="esim-search", select_on_focus=False)
        yield OfferTable(COLUMNS, attrgetter("cells"), empty_text=LOADING, key=attrgetter("id"), left_text=ORDER_LEFT, id="esim-list")
        yield Static("", id="esim-count", markup=False)
        yield Footer()

    def _search(self, *, keep: bool = False) -> None:
        """The eSIMs the search finds, from the top; ``keep``: a sale or a poll meanwhile, the eSIM
        highlighted stays so."""
        if self.finder is None:
            return
        text = self.query_one("#esim-search", Input).value
        rows = [row for row in self.finder.search(text) if has_esim(row)]
        self.table.empty_text = "No eSIM matches. Check the last digits of the ICCID." if text else "No eSIM sold yet."
        self.table.set_rows(rows, keep=keep)
        self.query_one("#esim-count", Static).update(f"{len(rows):,} {'eSIM' if len(rows) == 1 else 'eSIMs'}")

    # ------------------------------------------------------------ actions

    def action_choose(self) -> None:
        row = self.table.acted_on()
        if row is not None:
            self.top_up(row)

    @on(OfferTable.Chosen, "#esim-list")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.top_up(event.row)

    @work(exclusive=True, group="open-order", exit_on_error=False, description="Opening an order")
    async def top_up(self, row: OrderRow) -> None:
        order = await self.read_order(row)
        if order is not None:
            self.esim_app.top_up(order)

    def action_back(self) -> None:
        self.app.pop_screen()
