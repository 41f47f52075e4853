"""Sell, step 4: hand the eSIM over. The QR for the customer's phone, and the codes for a manual install.

The activation code was saved before this screen was opened; the provider shows it only until the
eSIM is installed, so this screen (and "show it again") always reads it from the order record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from esim_tui.domain.orders import Order
from esim_tui.services.wording import customer, order_state
from esim_tui.ui.screens.export import ExportScreen
from esim_tui.ui.widgets.qr_code import QrCode
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class DeliveryScreen(Screen):
    BINDING_GROUP_TITLE = "eSIM"
    BINDINGS = [
        Binding("c", "copy_code", "Copy code", id="delivery.copy"),
        Binding("l", "toggle_large", "Large QR", id="delivery.large"),
        Binding("e", "export", "Export", id="delivery.export"),
        Binding("escape", "done", "Done", id="delivery.done"),
        Binding("n", "new_sale", "New sale", id="delivery.new_sale"),
    ]

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        order = self.order
        code = order.activation
        yield TopBar()
        yield Static(
            f"eSIM for {customer(order)} · {order.plan.name} · {order_state(order)}",
            id="delivery-title",
            markup=False,
        )
        with Horizontal(id="delivery-body"):
            if code is not None and not order.is_installed:
                yield QrCode(code.lpa, id="qr")
            with VerticalScroll(id="delivery-codes"):
                if code is not None and not order.is_installed:
                    yield Static("Scan with the phone's camera, or Settings → Mobile → Add eSIM → Use QR code.", classes="hint", markup=False)
                elif order.is_installed:
                    yield Static(
                        "This eSIM is already installed: its activation code is spent and cannot be used again. "
                        "If the customer deleted it, a new eSIM is needed (n: new sale).",
                        classes="warning",
                        markup=False,
                    )
                rows = [("ICCID", order.iccid or "—")]
                if code is not None and not order.is_installed:  # a spent code is not shown again
                    rows = [
                        ("Activation code", code.lpa),
                        ("SM-DP+ address", code.smdp_address),
                        ("Matching ID", code.matching_id or "(none)"),
                        *rows,
                        ("iPhone, iOS 17.4+", code.apple_install_url),
                        ("Android", code.android_install_url),
                    ]
                rows.append(("Client reference", order.client_reference))
                for label, value in rows:
                    yield Label(label, classes="code-label", markup=False)
                    yield Static(value, classes="code-value", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.esim_app.order_shown(self.order)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_code", "toggle_large", "export"):
            return self.order.activation_code is not None and not self.order.is_installed
        return True

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        return [
            ("Copy the activation code", self.action_copy_code, "To the clipboard (OSC 52)"),
            ("Large QR on/off", self.action_toggle_large, "Two cells per module: easier to scan on some terminals"),
        ]

    def action_copy_code(self) -> None:
        code = self.order.activation_code
        if code:
            self.app.copy_to_clipboard(code)
            self.notify(f"Copied the activation code {code}", title="Copied", markup=False)
        else:
            self.notify("This order has no activation code to copy.", severity="warning", markup=False)

    def action_export(self) -> None:
        if self.order.activation_code is None or self.order.is_installed:
            self.notify("Nothing to export: this eSIM has no unused activation code.", severity="warning", markup=False)
            return
        self.app.push_screen(ExportScreen(self.order, self.esim_app.ctx.settings.ui.export_folder))

    def action_toggle_large(self) -> None:
        for qr in self.query(QrCode):
            qr.form = "compact" if qr.form == "large" else "large"

    def action_done(self) -> None:
        self.app.pop_screen()

    def action_new_sale(self) -> None:
        self.esim_app.new_sale_for(self.order.plan.destination.key)
