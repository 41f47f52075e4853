"""Sell, step 3: confirm. Shows the plan, the provider's quote and the client reference; y or Enter
buys. Nothing is charged before that key, and while the order is placed the screen says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures
from esim_tui.domain.errors import ProviderError
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order
from esim_tui.domain.plans import Plan, Quote
from esim_tui.services.wording import customer, plan_summary
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class ConfirmScreen(ShowsWorkerFailures, Screen):
    BINDING_GROUP_TITLE = "Confirm"
    BINDINGS = [
        Binding("y", "buy", "Buy", id="confirm.buy"),
        Binding("escape", "back", "Back", id="confirm.back"),
    ]

    def __init__(self, plan: Plan, client_reference: str, *, top_up_of: Order | None = None, follows: Order | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.client_reference = client_reference
        self.top_up_of = top_up_of  # the plan goes onto this order's eSIM
        self.follows = follows  # a new eSIM for this earlier sale's customer
        self.quote: Quote | None = None
        self.placing = False

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        plan = self.plan
        yield TopBar()
        with Vertical(id="confirm-box"):
            yield Static(self._title(), classes="screen-title", markup=False)
            with Grid(id="confirm-facts"):
                for label, value, ident in (
                    *self._linked_facts(),
                    ("Plan", plan.name, None),
                    ("Provider", plan.provider.display, None),
                    ("Destination", plan.destination.label, None),
                    ("Data / validity", plan_summary(plan), None),
                    ("List price", format_money(plan.price), None),
                    ("You will be charged", "asking the provider…", "quote"),
                    ("Client reference", self.client_reference, "reference"),
                ):
                    yield Label(label, classes="fact-label", markup=False)
                    yield Static(value, classes="fact-value", id=ident, markup=False)
            parent = self.top_up_of or self.follows
            yield Input(parent.customer_label if parent else "", placeholder="Customer name or booking reference (optional)", id="customer-label", max_length=120)
            yield Input(parent.customer_email if parent else "", placeholder="Customer e-mail (optional)", id="customer-email", max_length=254)
            with Horizontal(id="confirm-buttons"):
                yield Button("Buy (y)", id="buy", variant="success")
                back = Button("Back (Esc)", id="back")
                back.can_focus = False  # Tab from Buy goes to the customer's name; Esc (or a click) goes back
                yield back
            with Vertical(id="placing"):
                yield LoadingIndicator()
                yield Static(f"Placing the order with {plan.provider.display}… Do not sell it again.", markup=False)
        yield Footer()

    def _title(self) -> str:
        if self.top_up_of is not None:
            return f"Confirm the top-up for {customer(self.top_up_of)}"
        return "Confirm the sale"

    def _linked_facts(self) -> tuple[tuple[str, str, str | None], ...]:
        if self.top_up_of is not None:
            return (("Adds to eSIM", f"ICCID {self.top_up_of.iccid}", "linked"),)
        if self.follows is not None:
            return (("New eSIM for", f"{customer(self.follows)} (order {self.follows.id})", "linked"),)
        return ()

    def on_mount(self) -> None:
        self.query_one("#placing").display = False
        self.query_one("#buy", Button).focus()
        self.get_quote()

    @work(exclusive=True, group="quote", exit_on_error=False, description="Asking the provider for a quote")
    async def get_quote(self) -> None:
        quote_line = self.query_one("#quote", Static)
        try:
            quote = await self.esim_app.sales.quote(self.plan)
        except ProviderError as exc:
            quote_line.update(f"No quote: {exc.message} The list price applies.")
            quote_line.add_class("warning")
            return
        self.quote = quote
        text = format_money(quote.total)
        if quote.note:
            text += f"  ({quote.note})"
        quote_line.update(text)
        quote_line.set_class(not quote.valid, "warning")

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Button.Pressed, "#buy")
    def action_buy(self) -> None:
        if self.placing:
            return
        if self.quote is not None and not self.quote.valid:
            reason = self.quote.note or "The price changed since the catalogue was loaded."
            self.notify(f"{reason} Go back and choose again.", severity="warning", markup=False)
            return
        self.placing = True
        for widget in ("#confirm-buttons", "#customer-label", "#customer-email"):
            self.query_one(widget).display = False
        self.query_one("#placing").display = True
        self.esim_app.place_order(
            self.plan,
            self.quote,
            self.query_one("#customer-label", Input).value,
            self.query_one("#customer-email", Input).value,
            self.client_reference,
            top_up_of=self.top_up_of,
            follows=self.follows,
        )

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if not self.placing:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("buy", "back") and self.placing:
            return False
        return True
