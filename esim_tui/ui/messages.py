"""Messages the workers post to the UI."""

from __future__ import annotations

from textual.message import Message

from esim_tui.domain.orders import Order
from esim_tui.services.ordering import CatalogueLoad


class CatalogueLoaded(Message):
    def __init__(self, load: CatalogueLoad) -> None:
        self.load = load
        super().__init__()


class CatalogueFailed(Message):
    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__()


class OrderUpdated(Message):
    """An order changed (placed, delivered, installed, data used...). Sent to every screen."""

    def __init__(self, order: Order, error: str | None = None) -> None:
        self.order = order
        self.error = error
        super().__init__()
