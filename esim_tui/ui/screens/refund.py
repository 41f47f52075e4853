"""Support, refund: revoke a bundle not yet started and return its price to the provider balance.

The provider is asked first what would be refunded (nothing changes); only `y` after that does it.
Anything that cannot be refunded says why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, LoadingIndicator, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import format_amount
from esim_tui.domain.orders import Order, RefundCheck
from esim_tui.services.wording import customer

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class RefundScreen(ShowsWorkerFailures, ModalScreen[RefundCheck | None]):
    BINDING_GROUP_TITLE = "Refund"
    BINDINGS = [
        Binding("y", "refund", "Refund", id="refund.confirm"),
        Binding("escape", "cancel", "Cancel", id="refund.cancel"),
    ]

    def __init__(self, order: Order, bundle_name: str) -> None:
        super().__init__()
        self.order = order
        self.bundle_name = bundle_name
        self.check: RefundCheck | None = None
        self.refunding = False  # the refund is on its way: the dialog cannot be left

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="refund-box", classes="dialog"):
            yield Static(f"Refund {self.bundle_name} for {customer(self.order)}?", classes="screen-title", markup=False)
            yield Static("Asking the provider what would be refunded… nothing changes yet.", id="refund-answer", markup=False)
            yield LoadingIndicator(id="refund-busy")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Refund (y)", id="refund", variant="error", disabled=True)
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.check_refund()

    @work(exclusive=True, group="refund", exit_on_error=False, description="Asking what would be refunded")
    async def check_refund(self) -> None:
        answer = self.query_one("#refund-answer", Static)
        try:
            check = await self.esim_app.sales.check_refund(self.order, self.bundle_name)
        except EsimTuiError as exc:
            self._show_busy(False)
            answer.update(f"Cannot refund: {exc.message}")
            answer.add_class("warning")
            return
        self.check = check
        self._show_busy(False)
        if check.refundable:
            amount = f"{format_amount(check.amount.amount)} {check.amount.currency}" if check.amount else "its price"
            answer.update(f"{amount} would go back to the {self.order.provider.display} balance, and the bundle would stop working. Press y to refund.")
            self.query_one("#refund", Button).disabled = False
            self.query_one("#refund", Button).focus()
        else:
            answer.update(f"This bundle cannot be refunded: {check.reason or 'the provider refuses it.'}")
            answer.add_class("warning")
        self.refresh_bindings()

    def _show_busy(self, busy: bool) -> None:
        self.query_one("#refund-busy").display = busy

    @property
    def can_refund(self) -> bool:
        return not self.refunding and self.check is not None and self.check.refundable

    @on(Button.Pressed, "#refund")
    def action_refund(self) -> None:
        if not self.can_refund:
            return
        self.refunding = True
        self.refresh_bindings()
        self._show_busy(True)
        self.query_one("#refund", Button).disabled = True
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#refund-answer", Static).update("Refunding… do not ask again.")
        self.do_refund()

    @work(exclusive=True, group="refund", exit_on_error=False, description="Refunding a bundle")
    async def do_refund(self) -> None:
        try:
            updated, result = await self.esim_app.sales.refund(self.order, self.bundle_name)
        except EsimTuiError as exc:
            self.esim_app.notify(f"The refund did not go through: {exc.message}", severity="error", timeout=15, markup=False)
            self.esim_app.check_now(self.order)
            self.dismiss(None)
            return
        self.esim_app.order_changed(updated)
        self.esim_app.check_now(updated)
        self.esim_app.refresh_balances()
        amount = f"{format_amount(result.amount.amount)} {result.amount.currency}" if result.amount else "The bundle"
        self.esim_app.notify(f"{amount} refunded to the {self.order.provider.display} balance; {self.bundle_name} is revoked.", title="Refunded", markup=False)
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.refunding:
            self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refund":
            return self.can_refund
        if action == "cancel":
            return not self.refunding
        return True
