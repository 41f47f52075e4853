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
from textual.widgets import Button, Footer, LoadingIndicator, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures, key_label
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import BundleUsage, Order, RefundCheck
from esim_tui.services.wording import customer

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class RefundScreen(ShowsWorkerFailures, ModalScreen[RefundCheck | None]):
    BINDING_GROUP_TITLE = "Refund"
    BINDINGS = [
        Binding("y", "refund", "Refund", id="refund.confirm"),
        Binding("escape", "cancel", "Cancel", id="refund.cancel"),
    ]

    def __init__(self, order: Order, bundle: BundleUsage | None) -> None:
        """``order`` is the record that bought ``bundle``; ``bundle`` None where the provider has no
        bundles to name (the dialog then says how refunds are done there)."""
        super().__init__()
        self.order = order
        self.bundle = bundle
        self.bundle_name = bundle.bundle_name if bundle is not None else ""
        self.check: RefundCheck | None = None
        self.refunding = False  # the refund is on its way: the dialog cannot be left

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="refund-box", classes="dialog"):
            what = self.bundle_name or self.order.plan.name
            yield Static(f"Refund {what} for {customer(self.order)}?", classes="screen-title", markup=False)
            yield Static("Asking the provider what would be refunded… nothing changes yet.", id="refund-answer", markup=False)
            yield LoadingIndicator(id="refund-busy")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"Refund ({key_label(self, 'refund.confirm')})", id="refund", variant="error", disabled=True)
                yield Button(f"Cancel ({key_label(self, 'refund.cancel')})", id="cancel")
        yield Footer()  # the dialog's own keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.check_refund()

    @work(exclusive=True, group="refund", exit_on_error=False, description="Asking what would be refunded")
    async def check_refund(self) -> None:
        answer = self.query_one("#refund-answer", Static)
        try:
            check = await self.esim_app.sales.check_refund(self.order, self.bundle)
        except EsimTuiError as exc:
            self._show_busy(False)
            self._no_refund(f"Cannot refund: {exc.message}")
            await self._noted()
            return
        await self._noted()
        self.check = check
        self._show_busy(False)
        if check.refundable:
            amount = format_money(check.amount) if check.amount else "its price"
            answer.update(f"{amount} would go back to the {self.order.provider.display} balance, and the bundle would stop working. Press {key_label(self, 'refund.confirm')} to refund.")
            self.query_one("#refund", Button).disabled = False
            self.query_one("#refund", Button).focus()
        else:
            self._no_refund(f"This bundle cannot be refunded. {check.reason or 'The provider refuses it.'}")
        self.refresh_bindings()

    async def _noted(self) -> None:
        """The look into a refund is on the order's timeline (``Sales.check_refund`` noted it): show it."""
        noted = await self.esim_app.sales.order(self.order.id)
        if noted is not None:
            self.esim_app.order_changed(noted)

    def _no_refund(self, why: str) -> None:
        """Say why; only Cancel is left to press."""
        answer = self.query_one("#refund-answer", Static)
        answer.update(why)
        answer.add_class("warning")
        self.query_one("#refund", Button).display = False

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
            updated, result = await self.esim_app.sales.refund(self.order, self.bundle or self.bundle_name)
        except EsimTuiError as exc:
            self.esim_app.notify(f"The refund did not go through: {exc.message}", severity="error", timeout=15, markup=False)
            self.esim_app.check_now(self.order)
            self.dismiss(None)
            return
        self.esim_app.order_changed(updated)
        self.esim_app.check_now(updated)
        self.esim_app.refresh_balances()
        if not result.refundable:  # refused between the check and the refund (e.g. first use meanwhile)
            self.esim_app.notify(f"The refund did not go through. {result.reason}", severity="error", timeout=15, markup=False)
            self.dismiss(None)
            return
        amount = format_money(result.amount) if result.amount else "The bundle"
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
