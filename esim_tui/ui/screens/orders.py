"""Support, the order list (Orders mode, F2 from anywhere): every order, newest first, searched as the
desk types (ICCID or its last digits, client reference, customer, e-mail, provider order id,
destination, date) and filtered by state. Enter opens the order."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures, TypesIntoSearch, list_keys
from esim_tui.domain.orders import Order
from esim_tui.services.support import OrderFilter, OrderFinder
from esim_tui.ui.widgets.offer_table import Column, OfferTable
from esim_tui.ui.widgets.status_panel import ORDER_LEFT
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp

LOADING = "Reading the order records…"

COLUMNS = (
    Column("Sold", 12),
    Column("Customer", 18),
    Column("Destination", 16, flex=True),
    Column("Plan", 14),
    Column("State", 24),
    Column("ICCID", 8),
    Column("Provider", 13),
)

FILTERS = tuple(OrderFilter)


class FindsOrders(TypesIntoSearch, ShowsWorkerFailures, Screen):
    """A search box over the support desk's finder (``SEARCH``, the list ``LIST``): the records read in a
    thread, each save and poll taken in with the highlighted order kept. Subclasses list in ``_search``."""

    LIST = "#order-list"

    def __init__(self) -> None:
        super().__init__()
        self.finder: OrderFinder | None = None

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.esim_app.order_updates.subscribe(self, lambda change: self.order_changed(*change), immediate=True)
        self.query_one(self.SEARCH, Input).focus()
        self.load()

    @property
    def table(self) -> OfferTable:
        return self.query_one(self.LIST, OfferTable)

    @work(exclusive=True, group="order-list", thread=True, exit_on_error=False, description="Reading the order records")
    def load(self) -> None:
        # A thread: reading years of archives must not freeze the screen.
        finder = OrderFinder.load(self.esim_app.sales.store, self.esim_app.sales.now())  # past validity reads Expired
        self.app.call_from_thread(self._loaded, finder)

    def _loaded(self, finder: OrderFinder) -> None:
        self.finder = finder
        self._search()

    @on(Input.Changed)
    def _typed(self) -> None:
        self._search()

    def _search(self, *, keep: bool = False) -> None:
        raise NotImplementedError

    def order_changed(self, order: Order, error: str | None = None) -> None:
        if self.finder is not None:
            self.finder.update(order)
            self._search(keep=True)

    def action_move(self, step: int) -> None:
        self.table.action_cursor(step)

    def action_page(self, direction: int) -> None:
        self.table.action_page(direction)

    async def read_order(self, row) -> Order | None:
        """The whole order of a listed row (the list holds summaries); None, and the desk told, if gone."""
        order = await self.esim_app.sales.order(row.id)
        if order is None:
            self.notify("That order is no longer in the records.", severity="warning", markup=False)
        return order


class OrdersScreen(FindsOrders):
    SEARCH = "#order-search"
    BINDING_GROUP_TITLE = "Orders"
    BINDINGS = [
        *list_keys("orders"),
        Binding("enter", "open", "Open", id="orders.open", priority=True),
        Binding("f4", "next_filter(1)", "Filter", id="orders.filter"),
        Binding("shift+f4", "next_filter(-1)", "Previous filter", show=False, id="orders.filter_back"),
        Binding("escape", "clear", "Clear search", id="orders.clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = OrderFilter.ALL

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Input(placeholder="Find an order: last digits of the ICCID, reference, customer, e-mail, destination, date", id="order-search", select_on_focus=False)
        yield Static("", id="order-filters")
        yield OfferTable(COLUMNS, attrgetter("cells"), empty_text=LOADING, key=attrgetter("id"), left_text=ORDER_LEFT, id="order-list")
        yield Static("", id="order-count", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self._show_filters()

    # ------------------------------------------------------------ searching

    def _search(self, *, keep: bool = False) -> None:
        """List what the search and filter find: from the top, or (``keep``: a save or a poll changed the
        list under the desk) with the highlight kept on the same order, or on none if it left."""
        if self.finder is None:
            return
        text = self.query_one("#order-search", Input).value
        rows = self.finder.search(text, self.filter)
        self.table.empty_text = "No order matches." if (text or self.filter is not OrderFilter.ALL) else "No orders yet. Sales appear here."
        self.table.set_rows(rows, keep=keep)
        total = len(self.finder)
        self.query_one("#order-count", Static).update(f"{len(rows):,} of {total:,} orders")

    def _show_filters(self) -> None:
        line = Text("Show: ", style="dim")  # F4 is in the footer; the whole row fits 110 columns
        for f in FILTERS:
            line.append(f.label, style="reverse bold" if f is self.filter else "")
            line.append("  ")
        self.query_one("#order-filters", Static).update(line)

    def action_next_filter(self, step: int) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + step) % len(FILTERS)]
        self._show_filters()
        self._search()

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        return [(f"Show: {f.label.lower()} orders", partial(self.set_filter, f), "Filter the order list (F4 cycles)") for f in OrderFilter]

    def set_filter(self, value: OrderFilter) -> None:
        self.filter = value
        self._show_filters()
        self._search()

    # ------------------------------------------------------------ actions

    def action_open(self) -> None:
        row = self.table.acted_on()
        if row is not None:
            self.open_row(row)

    @on(Input.Submitted, "#order-search")
    def _submitted(self) -> None:
        self.action_open()

    @on(OfferTable.Chosen, "#order-list")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.open_row(event.row)

    @work(exclusive=True, group="open-order", exit_on_error=False, description="Opening an order")
    async def open_row(self, row) -> None:
        order = await self.read_order(row)
        if order is not None:
            self.esim_app.open_order_detail(order)

    def action_clear(self) -> None:
        search = self.query_one("#order-search", Input)
        search.value = ""
        search.focus()

    def start_afresh(self) -> None:
        """F2: the whole list from its top, the search empty and ready, whatever was left typed."""
        self.filter = OrderFilter.ALL
        self._show_filters()
        search = self.query_one("#order-search", Input)
        if search.value:
            search.value = ""  # Input.Changed lists afresh
        self._search()
        search.focus()
