"""The line across the top: the app, the mode, and a SANDBOX badge whenever the sandbox serves the app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class TopBar(Horizontal):
    def __init__(self, mode: str) -> None:
        super().__init__(classes="top-bar")
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Static(f"esim-tui · {self.mode}", classes="top-title", markup=False)
        yield Static("", classes="top-balance", markup=False)
        badge = Static(" SANDBOX ", classes="sandbox-badge", markup=False)
        badge.display = bool(getattr(self.app, "on_sandbox", False))
        yield badge
