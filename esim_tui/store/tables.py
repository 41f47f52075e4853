"""The TinyDB tables of the order files: one document per order, keyed by the order's own id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tinydb import TinyDB
from tinydb.table import Document, Table

from esim_tui.domain.orders import Order
from esim_tui.store.errors import StoreCorrupt
from esim_tui.store.storage import existing_backup

TABLE = "orders"


class OrderTable(Table):
    """The orders of one file, keyed by the order's own id. TinyDB types document ids as int; this
    store keys them by str, so the typed calls below are the one place that says so."""

    document_id_class = str  # type: ignore[assignment]

    def has(self, oid: str) -> bool:
        return self.contains(doc_id=oid)  # type: ignore[arg-type]

    def doc(self, oid: str) -> Document | None:
        found: Document | None = self.get(doc_id=oid)  # type: ignore[call-overload]
        return found

    def replace(self, oid: str, doc: dict[str, Any]) -> None:
        self.update(_replace_with(doc), doc_ids=[oid])  # type: ignore[arg-type,list-item]

    def drop(self, oids: list[str]) -> None:
        self.remove(doc_ids=oids)  # type: ignore[arg-type]


def oid_of(doc: Document) -> str:
    return doc.doc_id  # type: ignore[return-value]  # str: see OrderTable


def filed(doc: dict[str, Any], oid: str) -> Document:
    return Document(doc, doc_id=oid)  # type: ignore[arg-type]  # str: see OrderTable


class OrderDB(TinyDB):
    table_class = OrderTable


def _replace_with(doc: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def replace(stored: dict[str, Any]) -> None:
        stored.clear()
        stored.update(doc)

    return replace


def order_from(doc: dict[str, Any], path: Path) -> Order:
    """The order a stored document holds; StoreCorrupt (naming the field, never its value) if it holds none."""
    data = dict(doc)
    data.pop("_rev", None)
    try:
        order = Order.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "the record"
        # The message names the field, never its value (it may be an activation code).
        detail = f"order {data.get('id')!r} is not a valid order record ({field}: {first['msg']})"
        raise StoreCorrupt(path, detail, existing_backup(path)) from None
    if isinstance(doc, Document) and oid_of(doc) != order.id:
        detail = f"the record filed as {oid_of(doc)!r} is order {order.id!r}"
        raise StoreCorrupt(path, detail, existing_backup(path))
    return order
