"""The Octopus Cards part of the sandbox's state file: written and read back whole."""

from __future__ import annotations

from typing import Any

from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.octopus.base import OctopusBase
from esim_tui.sandbox.octopus.world import SimOrder
from esim_tui.sandbox.octopus_catalogue import (
    Product,
    Variant,
)
from esim_tui.sandbox.persist import StateUnreadable, dump_record, load_record


class StateFile(OctopusBase):
    """dump() and load() of the simulated world."""

    def dump(self) -> dict[str, Any]:
        """Orders, ids and the wallet for the sandbox's state file. Issued access tokens are left out:
        a restarted client logs in again (the configured token always works)."""
        with self._lock:
            return {
                "account": self.account.dump(),
                "next_order_id": self._next_order_id,
                "next_transaction_id": self._next_transaction_id,
                "orders": [dump_record(o, product=lambda p: p.id, variant=lambda v: v.id) for o in self._orders.values()],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Take back what ``dump`` wrote; the products and variants come from this sandbox's catalogue."""

        def product(product_id: Any) -> Product:
            if product_id not in self.catalogue.products:
                raise StateUnreadable(f"Octopus product {product_id!r} is not in the catalogue")
            return self.catalogue.products[product_id]

        def variant(variant_id: Any) -> Variant:
            if variant_id not in self.catalogue.variants:
                raise StateUnreadable(f"Octopus variant {variant_id!r} is not in the catalogue")
            return self.catalogue.variants[variant_id]

        orders = [load_record(SimOrder, item, product=product, variant=variant) for item in data["orders"]]
        with self._lock:
            self.account = Account.load(data["account"])
            self._next_order_id = int(data["next_order_id"])
            self._next_transaction_id = int(data["next_transaction_id"])
            self._orders = {o.id: o for o in orders}
            self._by_reference = {o.client_reference: o.id for o in orders if o.client_reference is not None}
            self._by_iccid = {o.iccid: o.id for o in orders if o.iccid is not None}
