"""Quit while something is in flight: ctrl+q asks first and says what is going on, and what quitting
would (not) lose. With nothing in flight ctrl+q quits at once (the app decides; see ``EsimApp.in_flight``)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


@dataclass(frozen=True)
class InFlight:
    """One thing quitting would interrupt: ``what`` in the counter's words, ``after`` what becomes of it."""

    what: str
    after: str


SAFE_IN_JOURNAL = (
    "The order is safe in the journal either way: esim-tui learns how it ended at the next start, "
    "and its QR can be shown again from Orders in play or F2."
)
QR_AGAIN = "The order is safe in the journal; its QR can be shown again from Orders in play or F2."
NOTHING_BOUGHT = "Nothing is bought yet: quitting buys nothing."


class QuitScreen(ModalScreen[bool]):
    BINDING_GROUP_TITLE = "Quit"
    BINDINGS = [
        Binding("y", "quit_anyway", "Quit", id="quit.confirm"),
        Binding("n", "stay", "Stay", id="quit.stay"),
        Binding("escape", "stay", "Stay", show=False, id="quit.cancel"),
    ]

    def __init__(self, in_flight: list[InFlight]) -> None:
        super().__init__()
        self.in_flight = in_flight

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box", classes="dialog"):
            yield Static("Quit anyway?", classes="screen-title", markup=False)
            for item in self.in_flight:
                yield Static(item.what, classes="quit-what", markup=False)
            for after in dict.fromkeys(item.after for item in self.in_flight):  # each said once
                yield Static(after, markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Quit (y)", id="quit", variant="error")
                yield Button("Stay (n, Esc)", id="stay")
        yield Footer()  # the dialog's own keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()  # Enter on its own does not quit

    @on(Button.Pressed, "#quit")
    def action_quit_anyway(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)
