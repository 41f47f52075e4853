"""Sell, step 3: confirm. Shows the plan, the provider's quote and the client reference; y or Enter
buys. Nothing is charged before that key, and while the order is placed the screen says so.

A y pressed while the quote is still on its way is kept: the sale goes through as soon as the provider
confirms the price, and never at a price it did not confirm."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures, key_label
from esim_tui.domain.errors import ProviderError
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order
from esim_tui.domain.plans import Plan, Quote
from esim_tui.services.wording import customer, plan_summary
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class EmailAddress(Validator):
    """An address a receipt can go to, checked as typed (syntax only: no DNS look-up at the counter)."""

    def validate(self, value: str) -> ValidationResult:
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(value.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            return self.failure(f"Not an e-mail address: {str(exc).replace('email', 'e-mail')}")
        return self.success()


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
        self.asking = True  # the quote is on its way (it is asked for as the screen opens)
        self.buy_waiting = False  # y was pressed while asking: buy once the price is confirmed
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
            yield Input(
                parent.customer_email if parent else "",
                placeholder="Customer e-mail (optional)",
                id="customer-email",
                max_length=254,
                validators=[EmailAddress()],
                valid_empty=True,
            )
            yield Static("", id="email-problem", classes="warning", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"Buy ({key_label(self, 'confirm.buy')})", id="buy", variant="success")
                back = Button(f"Back ({key_label(self, 'confirm.back')})", id="back")
                back.can_focus = False  # Tab from Buy goes to the customer's name; Esc (or a click) goes back
                yield back
            with Vertical(id="placing"):
                yield LoadingIndicator()
                yield Static("", id="placing-text", markup=False)
            yield Static("", id="buy-note", classes="warning", markup=False)
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
        self.query_one("#buy", Button).focus()
        email = self.query_one("#customer-email", Input)
        self._show_email_problem(email.validate(email.value))  # an address kept from an earlier sale
        self.query_one("#buy-note").display = False
        self._show_state()
        self.get_quote()

    @work(exclusive=True, group="quote", exit_on_error=False, description="Asking the provider for a quote")
    async def get_quote(self) -> None:
        quote_line = self.query_one("#quote", Static)
        provider = self.plan.provider.display
        try:
            quote = await self.esim_app.sales.quote(self.plan)
        except ProviderError as exc:
            quote_line.update(f"No quote: {exc.message} The list price applies.")
            quote_line.add_class("warning")
            self._price_known(f"Not bought: {provider} did not confirm the price. Press y again to buy at the list price.")
            return
        except Exception:
            self._price_known("Not bought: the price could not be confirmed. Press y again to buy at the list price.")
            raise
        self.quote = quote
        text = format_money(quote.total)
        if quote.note:
            text += f"  ({quote.note})"
        quote_line.update(text)
        quote_line.set_class(not quote.valid, "warning")
        self._price_known(None if quote.valid else f"Not bought: {self._refusal()} Go back and choose again.")

    def _price_known(self, refusal: str | None) -> None:
        """The quote has answered; a y that waited for it buys now, or is dropped with ``refusal``."""
        self.asking = False
        if not self.buy_waiting:
            return
        self.buy_waiting = False
        if refusal is None:
            self._place_now()
            return
        self._show_state()
        note = self.query_one("#buy-note", Static)
        note.update(refusal)
        note.display = True
        self.notify(refusal, severity="warning", timeout=10, markup=False)
        self.refresh_bindings()

    def _refusal(self) -> str:
        return (self.quote.note if self.quote else "") or "The price changed since the catalogue was loaded."

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Input.Changed, "#customer-email")
    def _email_changed(self, event: Input.Changed) -> None:
        self._show_email_problem(event.validation_result)

    def _show_email_problem(self, result: ValidationResult | None) -> None:
        problem = self.query_one("#email-problem", Static)
        reasons = result.failure_descriptions if result is not None else []
        problem.update(reasons[0] if reasons else "")
        problem.display = bool(reasons)

    @on(Button.Pressed, "#buy")
    def action_buy(self) -> None:
        if self.placing or self.buy_waiting:
            return
        if not self.is_mounted:  # y typed ahead as the screen opens: taken once it is there
            self.call_later(self.action_buy)
            return
        email = self.query_one("#customer-email", Input)
        reasons = email.validate(email.value)
        if reasons is not None and not reasons.is_valid:
            self.notify(f"Not bought: {reasons.failure_descriptions[0]} Correct it, or clear it to sell without a receipt.", severity="warning", markup=False)
            email.focus()
            self.call_after_refresh(email.action_end)  # to correct it, not to type it again
            return
        if self.quote is not None and not self.quote.valid:
            self.notify(f"{self._refusal()} Go back and choose again.", severity="warning", markup=False)
            return
        if self.asking:
            self.buy_waiting = True
            self._show_state()
            self.refresh_bindings()
            return
        self._place_now()

    def _place_now(self) -> None:
        self.placing = True
        self._show_state()
        self.refresh_bindings()
        self.esim_app.place_order(
            self.plan,
            self.quote,
            self.query_one("#customer-label", Input).value,
            self.query_one("#customer-email", Input).value.strip(),
            self.client_reference,
            top_up_of=self.top_up_of,
            follows=self.follows,
        )

    def _show_state(self) -> None:
        """The fields and keys, or (waiting for the price, placing) what is happening instead."""
        busy = self.placing or self.buy_waiting
        for widget in ("#confirm-buttons", "#customer-label", "#customer-email"):
            self.query_one(widget).display = not busy
        if busy:
            self.query_one("#email-problem").display = False
            self.query_one("#buy-note").display = False
        self.query_one("#placing").display = busy
        provider = self.plan.provider.display
        self.query_one("#placing-text", Static).update(
            f"Placing the order with {provider}… Do not sell it again."
            if self.placing
            else f"Buying as soon as {provider} confirms the price… Esc: do not buy."
        )

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.placing:
            return
        if self.buy_waiting:  # the waiting y is taken back; the screen stays, with its price to come
            self.buy_waiting = False
            self._show_state()
            self.query_one("#buy", Button).focus()
            self.refresh_bindings()
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("buy", "back") and self.placing:
            return False
        if action == "buy" and self.buy_waiting:
            return False
        return True
