"""What the services need of the shop's order records: a typed interface, so that a second backend
(a shared database beside the TinyDB files) can stand in without touching a service.

``OrderStore`` (TinyDB files, ``store.orders``) is the embedded implementation. The rules every
backend keeps: a save never drops or replaces a stored activation code (``ActivationCodeKept``);
lookups return the newest order first; ``summaries`` never carries an activation code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from esim_tui.domain.orders import Order
from esim_tui.store.summaries import Summary

T = TypeVar("T")


@runtime_checkable
class OrderRecords(Protocol):
    """The shop's order records, as the ordering service and the support desk use them."""

    @property
    def path(self) -> Path:
        """Where the records are, for messages (never a secret)."""
        ...

    @property
    def read_only(self) -> bool: ...

    def save(self, order: Order) -> None:
        """Keep ``order`` durably before returning. Raises StoreWriteFailed (nothing half-written) or
        ActivationCodeKept (the save would lose a stored activation code)."""
        ...

    def get(self, order_id: str) -> Order | None: ...

    def by_client_reference(self, ref: str) -> Order | None:
        """The order placed under this client reference (the newest, should there be several)."""
        ...

    def by_iccid(self, iccid: str) -> list[Order]:
        """Every order for this eSIM (a first sale and its top-ups), newest first."""
        ...

    def by_provider_order_id(self, provider_order_id: str) -> Order | None: ...

    def in_play(self) -> list[Order]:
        """The orders not settled yet, newest first."""
        ...

    def all(self) -> Iterator[Order]:
        """Every order, newest first, read lazily."""
        ...

    def summaries(self, summary: Summary[T]) -> list[T]:
        """``summary``'s items for every order, newest first, without reading every order in full."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...
