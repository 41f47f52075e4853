"""Export the QR (PNG and SVG), the install links and the provider's pack to a folder the agent types."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from esim_tui.ui.screens.base import ShowsWorkerFailures, key_label
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.orders import Order
from esim_tui.services.export import Export, export_install
from esim_tui.services.ordering import EXPORTED
from esim_tui.services.wording import customer

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp


class ExportScreen(ShowsWorkerFailures, ModalScreen[Export | None]):
    BINDING_GROUP_TITLE = "Export"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, order: Order, folder: Path) -> None:
        super().__init__()
        self.order = order
        self.folder = folder

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog"):
            yield Static(f"Export the QR and install links of {customer(self.order)}", classes="screen-title", markup=False)
            yield Static("Folder (Enter to export). The files hold a live activation code: keep them private.", classes="hint", markup=False)
            yield Input(str(self.folder), id="export-folder")
            yield Static("", id="export-answer", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (Enter)", id="export", variant="primary")
                yield Button(f"Cancel ({key_label(self, 'export.cancel')})", id="cancel")
        yield Footer()  # the dialog's own keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one("#export-folder", Input).focus()

    @on(Input.Submitted, "#export-folder")
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        folder = self.query_one("#export-folder", Input).value.strip()
        if not folder:
            self.query_one("#export-answer", Static).update("Type a folder first.")
            return
        self.export(Path(folder))

    @work(exclusive=True, group="export", exit_on_error=False, description="Exporting the QR")
    async def export(self, folder: Path) -> None:
        answer = self.query_one("#export-answer", Static)
        answer.update("Exporting…")
        try:
            pack = await self.esim_app.sales.provider(self.order.provider).install_pack(self.order)
        except EsimTuiError as exc:
            pack = None
            self.notify(f"The provider's install pack is not included: {exc.message}", severity="warning", markup=False)
        try:
            result = await asyncio.to_thread(export_install, self.order, folder, pack)
        except EsimTuiError as exc:
            answer.update(exc.message)
            answer.add_class("warning")
            return
        self.esim_app.notify(f"Saved {len(result.files)} files in {result.folder}", title="Exported", markup=False)
        self.esim_app.note_event(self.order, EXPORTED, f"{len(result.files)} files in {result.folder}")
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
