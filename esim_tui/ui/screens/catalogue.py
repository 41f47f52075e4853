"""Sell, step 1: find the destination. Typing filters at once; Enter opens its plans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from esim_tui.services.catalogue_index import CatalogueIndex, DestinationLine
from esim_tui.ui.screens.base import TypesIntoSearch, list_keys
from esim_tui.ui.widgets.offer_table import Column, OfferTable
from esim_tui.ui.widgets.status_panel import StatusPanel
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from datetime import datetime

    from esim_tui.domain.orders import Order
    from esim_tui.services.ordering import CatalogueLoad
    from esim_tui.ui.app import EsimApp

LOADING = "Loading the catalogue from the providers…"
NO_MATCH = "No destination matches. Try a country name, an ISO code or a region."

COLUMNS = (
    Column("Destination", 30, flex=True),
    Column("Code", 9),
    Column("Plans", 6, "right"),
    Column("From", 12, "right"),
    Column("Providers", 22),
)


def _row(line: DestinationLine) -> tuple[str, ...]:
    return line.cells


def _key(line: DestinationLine) -> str:
    return line.key


class CatalogueScreen(TypesIntoSearch, Screen):
    SEARCH = "#search"
    BINDING_GROUP_TITLE = "Sell"
    BINDINGS = [
        *list_keys("catalogue"),
        Binding("enter", "open", "Plans", id="catalogue.open", priority=True),
        Binding("ctrl+r", "refresh", "Refresh catalogue", id="catalogue.refresh"),
        Binding("ctrl+t", "top_up", "Top up", id="catalogue.top_up"),
        Binding("escape", "clear", "Clear search", id="catalogue.clear"),
    ]

    def __init__(self, saved: tuple[CatalogueIndex, datetime] | None = None) -> None:
        """``saved``: the destination list saved at the last load, shown from the first paint."""
        super().__init__()
        self.saved = saved
        self.index: CatalogueIndex | None = None  # the destinations listed: the saved list, then the loaded one
        self.typed_ahead: str | None = None  # a search + Enter typed before any list was there

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Input(placeholder="Where is the customer going? Country, code (JP, JPN), region or 'global'", id="search", select_on_focus=False)
        with Vertical(id="destinations-box"):
            yield OfferTable(
                COLUMNS,
                _row,
                empty_text=LOADING,
                key=_key,
                left_text="The destination you had highlighted is no longer listed; choose one.",
                id="destinations",
            )
            yield Static("", id="catalogue-message", markup=False)
        yield StatusPanel(id="status-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()
        if self.saved is not None and self.index is None:
            self.show_saved(*self.saved)

    @property
    def table(self) -> OfferTable:
        return self.query_one("#destinations", OfferTable)

    # ------------------------------------------------------------ catalogue

    def show_saved(self, index: CatalogueIndex, saved_at: datetime) -> None:
        """The list saved at the last load, while the providers are asked again (it has no plans)."""
        self.index = index
        self.table.empty_text = NO_MATCH
        self.query_one("#catalogue-message", Static).update(
            f"Destinations as of {saved_at.astimezone():%d %b %H:%M}; asking the providers for their plans…"
        )
        self._filter(self.query_one("#search", Input).value)

    def show_catalogue(self, load: CatalogueLoad) -> None:
        """The loaded list; returns the destination whose plans an Enter typed ahead asked for."""
        self.index = load.catalogue.index
        self.table.empty_text = NO_MATCH if self.index.lines else "No plans are on sale right now."
        notice = self.query_one("#catalogue-message", Static)
        if load.errors:
            lines = [f"{name.display}: {err.message}" for name, err in load.errors.items()]
            lead = "Some plans are missing." if self.index.lines else "The catalogue could not be loaded; press Ctrl+R to try again."
            notice.update(lead + " " + " ".join(lines))
        else:
            notice.update("")
        # The loaded list replacing the saved one keeps the agent's place.
        self._filter(self.query_one("#search", Input).value, keep_place=True)

    def take_typed_ahead(self) -> str | None:
        """The destination an Enter typed before the first list asked for (the first match of its
        search, as Enter would have opened), once; None when there is none or nothing matches."""
        if self.typed_ahead is None:
            return None
        self.typed_ahead = None
        line = self.table.highlighted
        return line.key if line is not None else None

    def show_failure(self, error: str) -> None:
        self.typed_ahead = None  # cannot open; the notice says why
        notice = self.query_one("#catalogue-message", Static)
        if self.index is not None:  # the saved list stays, for finding a destination; its plans cannot open
            notice.update(f"The plans could not be loaded. {error} Press Ctrl+R to try again.")
            return
        self.table.empty_text = "No catalogue."
        self.table.refresh_rows()
        notice.update(f"The catalogue could not be loaded. {error} Press Ctrl+R to try again.")

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        # The box's value now, not the event's: a burst's Changed messages arrive after its Enter.
        if self.typed_ahead is not None and event.input.value != self.typed_ahead:
            self.typed_ahead = None  # typing on after Enter: the agent is still choosing
            self.query_one("#catalogue-message", Static).update("")
        self._filter(event.value)

    def _filter(self, text: str, *, keep_place: bool = False) -> None:
        if self.index is None:
            return
        # Typing starts at the first match; a list loaded meanwhile keeps the destination highlighted.
        self.table.set_rows(self.index.search(text), keep=keep_place)

    # ------------------------------------------------------------ actions

    def action_move(self, step: int) -> None:
        if self.focused is self.query_one("#search"):
            self.table.action_cursor(step)
        elif isinstance(self.focused, OfferTable):
            self.focused.action_cursor(step)

    def action_page(self, direction: int) -> None:
        target = self.table if self.focused is self.query_one("#search") else self.focused
        if isinstance(target, OfferTable):
            target.action_page(direction)

    def action_open(self) -> None:
        if isinstance(self.focused, OfferTable) and self.focused is not self.table:
            self.focused.action_choose()
            return
        line = self.table.acted_on()
        if line is not None:
            self.esim_app.open_plans(line.key)
            return
        text = self.query_one("#search", Input).value
        if self.index is None and text.strip():  # nothing listed yet (the first start): Enter is kept
            self.typed_ahead = text
            self.query_one("#catalogue-message", Static).update(f"Opening the first match for “{text.strip()}” as soon as the catalogue is here…")

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.action_open()

    @on(OfferTable.Chosen, "#destinations")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.esim_app.open_plans(event.row.key)

    @on(OfferTable.Chosen, "#orders-in-play")
    def _order_chosen(self, event: OfferTable.Chosen) -> None:
        order: Order = event.row
        self.esim_app.open_order(order)

    def action_refresh(self) -> None:
        self.table.empty_text = LOADING
        self.table.set_rows(())
        self.esim_app.load_catalogue(refresh=True)

    def action_top_up(self) -> None:
        """A returning customer's eSIM, found by the last digits of its ICCID, topped up from here."""
        if self.esim_app.sales is None:
            self.notify("Still starting: the order records are on their way.", markup=False)
            return
        from esim_tui.ui.screens.top_up_finder import TopUpFinderScreen  # not on the first paint's path

        self.app.push_screen(TopUpFinderScreen())

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        search.focus()
