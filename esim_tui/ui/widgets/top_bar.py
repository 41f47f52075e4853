"""The line across the top: the app, the mode, the providers' balances, and a SANDBOX badge whenever
the sandbox serves the app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

MODE_TITLES = {"sell": "Sell", "orders": "Orders"}


class TopBar(Horizontal):
    def __init__(self, mode: str | None = None) -> None:
        super().__init__(classes="top-bar")
        self.mode = mode

    def compose(self) -> ComposeResult:
        mode = self.mode or MODE_TITLES.get(self.app.current_mode, "")
        yield Static(f"esim-tui · {mode}", classes="top-title", markup=False)
        yield Static("", classes="top-balance", markup=False)
        badge = Static(" SANDBOX ", classes="sandbox-badge", markup=False)
        badge.display = bool(getattr(self.app, "on_sandbox", False))
        yield badge

    def on_mount(self) -> None:
        if hasattr(self.app, "balance_line"):
            self.watch(self.app, "balance_line", self._show_balance)
            self.watch(self.app, "balance_low", self._show_low)

    def _show_balance(self, line: str) -> None:
        self.query_one(".top-balance", Static).update(line)

    def _show_low(self, low: bool) -> None:
        self.query_one(".top-balance", Static).set_class(low, "low")
