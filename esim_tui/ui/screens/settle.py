"""Support, settle by hand: a sale whose outcome is unknown and that the app could not match with
certainty. After checking the provider's portal, the desk says which order is the customer's (its code
is then saved and shown) or that the provider has none (closed as not placed). Nothing is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order, ProviderOrder
from esim_tui.services.wording import short_time
from esim_tui.ui.screens.base import ShowsWorkerFailures, key_label

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp

NONE = "none"  # the option id of "no order at the provider"


def describe(found: ProviderOrder) -> str:
    parts = [f"Provider order {found.provider_order_id}"]
    if found.created_at:
        parts.append(f"placed {short_time(found.created_at)}")
    if found.iccid:
        parts.append(f"ICCID {found.iccid}")
    if found.charged:
        parts.append(format_money(found.charged))
    return " · ".join(parts)


class SettleScreen(ShowsWorkerFailures, ModalScreen[Order | None]):
    BINDING_GROUP_TITLE = "Settle"
    BINDINGS = [
        Binding("y", "settle", "Settle", id="settle.confirm"),
        Binding("escape", "cancel", "Cancel", id="settle.cancel"),
    ]

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order
        self.found: dict[str, ProviderOrder] = {}
        self.chosen: str | None = None  # an option id, once Enter was pressed on it
        self.settling = False

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        provider = self.order.provider.display
        with Vertical(id="settle-box", classes="dialog"):
            who = f" for {self.order.customer_label}" if self.order.customer_label else ""
            yield Static(f"Settle the sale {self.order.client_reference}{who} by hand", classes="screen-title", markup=False)
            yield Static(
                f"Check {provider}'s portal first. Choose the customer's order, or say that {provider} has none. Nothing is sent.",
                markup=False,
            )
            yield LoadingIndicator(id="settle-busy")
            yield OptionList(id="settle-options")
            yield Static("", id="settle-answer", markup=False)
        yield Footer()  # the dialog's own keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one("#settle-options").display = False
        self.load()

    @work(exclusive=True, group="settle", exit_on_error=False, description="Asking the provider for possible orders")
    async def load(self) -> None:
        try:
            found = await self.esim_app.sales.possible_orders(self.order)
        except EsimTuiError as exc:
            self._answer(f"Cannot ask {self.order.provider.display} now: {exc.what} {key_label(self, 'settle.cancel')} closes; press a again later.", warning=True)
            return
        finally:
            self.query_one("#settle-busy").display = False
        self.found = {f.provider_order_id: f for f in found}
        options = self.query_one("#settle-options", OptionList)
        options.add_options([Option(Text(describe(f)), id=f.provider_order_id) for f in found])
        options.add_option(Option(Text(f"No order at {self.order.provider.display}: nothing was charged"), id=NONE))
        options.display = True
        options.highlighted = 0
        options.focus()
        self._answer("Enter chooses; then y settles." if found else f"{self.order.provider.display} lists no order that could be this sale.")

    def _answer(self, text: str, *, warning: bool = False) -> None:
        answer = self.query_one("#settle-answer", Static)
        answer.update(text)
        answer.set_class(warning, "warning")

    @on(OptionList.OptionSelected, "#settle-options")
    def choose(self, event: OptionList.OptionSelected) -> None:
        self.chosen = event.option.id
        if self.chosen == NONE:
            self._answer(f"Press {key_label(self, 'settle.confirm')} to close this sale as not placed: the customer was not charged.", warning=True)
        else:
            self._answer(f"Press {key_label(self, 'settle.confirm')} to make provider order {self.chosen} this sale; its activation code is saved and shown.")
        self.refresh_bindings()

    def action_settle(self) -> None:
        if self.chosen is None or self.settling:
            return
        self.settling = True
        self.refresh_bindings()
        self.query_one("#settle-busy").display = True
        self.settle(None if self.chosen == NONE else self.found[self.chosen])

    @work(exclusive=True, group="settle", exit_on_error=False, description="Settling a sale by hand")
    async def settle(self, chosen: ProviderOrder | None) -> None:
        try:
            settled = await self.esim_app.sales.settle_by_hand(self.order, chosen)
        except EsimTuiError as exc:
            self.esim_app.notify(f"Not settled: {exc.message}", severity="error", timeout=15, markup=False)
            self.dismiss(None)
            return
        self.esim_app.order_changed(settled)
        self.dismiss(settled)

    def action_cancel(self) -> None:
        if not self.settling:
            self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "settle":
            return self.chosen is not None and not self.settling
        if action == "cancel":
            return not self.settling
        return True
