"""Sell, step 4: hand the eSIM over. The QR for the customer's phone, and the codes for a manual install.

The activation code was saved before this screen was opened; the provider shows it only until the
eSIM is installed, so this screen (and "show it again") always reads it from the order record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from esim_tui.domain.orders import Order
from esim_tui.services.export import why_not_exportable
from esim_tui.services.ordering import CODE_COPIED
from esim_tui.services.wording import customer, order_state
from esim_tui.ui.screens.base import SaysWhyNot
from esim_tui.ui.screens.export import ExportScreen
from esim_tui.ui.widgets.code_text import CodeText, lpa_parts
from esim_tui.ui.widgets.qr_code import QrCode
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class DeliveryScreen(SaysWhyNot, Screen):
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

    @property
    def shows_qr(self) -> bool:
        """The customer's QR is on this screen (an unused activation code)."""
        return self.order.activation is not None and not self.order.is_installed

    def compose(self) -> ComposeResult:
        order = self.order
        code = order.activation
        usable = code is not None and not order.is_installed
        yield TopBar()
        # One line whatever the names' length: a wrapped title would take a row the QR needs.
        with Horizontal(id="delivery-title-bar"):
            yield Static(  # the provider's own plan name, whole ("Unlimited Lite"); cut with … if long
                f"eSIM for {customer(order)} · {order.plan.name}",
                id="delivery-title",
                markup=False,
            )
            yield Static(f" · {order_state(order)}", id="delivery-state", markup=False)
        with Horizontal(id="delivery-body"):
            if code is not None and usable:
                yield QrCode(code.lpa, id="qr")
            with ScrollableContainer(id="delivery-codes"):
                if usable:
                    yield Static("Scan with the phone's camera, or Settings → Mobile → Add eSIM → Use QR code.", classes="hint", markup=False)
                elif order.is_installed:
                    yield Static(
                        "This eSIM is already installed: its activation code is spent and cannot be used again. "
                        "If the customer deleted it, a new eSIM is needed (n: new sale).",
                        classes="warning",
                        markup=False,
                    )
                if code is not None and usable:  # a spent code is not shown again
                    yield from self._code("Activation code (c copies it whole)", lpa_parts(code.lpa))
                    yield from self._code("SM-DP+ address", [code.smdp_address])
                    yield from self._code("Matching ID", [code.matching_id or "(none)"])
                yield from self._code("ICCID", [order.iccid or "—"])
                yield Label("Plan", classes="code-label", markup=False)
                yield Static(order.plan.name, classes="plan-value", markup=False)
                if code is not None and usable:
                    yield Label("Install links (to tap or send; they wrap, not for reading out)", classes="code-label", markup=False)
                    for label, url in (("iPhone, iOS 17.4+", code.apple_install_url), ("Android", code.android_install_url)):
                        yield Label(label, classes="link-label", markup=False)
                        yield Static(url, classes="code-value link-value", markup=False)
                yield from self._code("Client reference", [order.client_reference])
        yield Footer()

    @staticmethod
    def _code(label: str, parts: list[str]) -> ComposeResult:
        yield Label(label, classes="code-label", markup=False)
        yield CodeText(parts, classes="code-value")

    def on_mount(self) -> None:
        self.esim_app.order_shown(self.order)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return why_not_exportable(self.order) is None
        if action in ("copy_code", "toggle_large"):
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
            self.esim_app.note_event(self.order, CODE_COPIED)
            self.notify(f"Copied the activation code {code}", title="Copied", markup=False)
        else:
            self.notify("This order has no activation code to copy.", severity="warning", markup=False)

    def why_not(self, action: str) -> str | None:
        return why_not_exportable(self.order) if action == "export" else None

    def action_export(self) -> None:
        if why := why_not_exportable(self.order):
            self.notify(why, severity="warning", markup=False)
            return
        self.app.push_screen(ExportScreen(self.order, self.esim_app.ctx.settings.ui.export_folder))

    def action_toggle_large(self) -> None:
        for qr in self.query(QrCode):
            qr.form = "compact" if qr.form == "large" else "large"

    def action_done(self) -> None:
        self.app.pop_screen()

    def action_new_sale(self) -> None:
        self.esim_app.new_sale_for(self.order.plan.destination.key)
