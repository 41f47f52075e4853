"""The eSIM Go part of the sandbox's state file: written and read back whole."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from esim_tui.sandbox.esimgo.base import EsimGoBase
from esim_tui.sandbox.esimgo.world import Assignment, Esim, OrderLine, SimOrder
from esim_tui.sandbox.esimgo_catalogue import (
    CatalogueBundle,
)
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.persist import StateUnreadable, dump_record, load_record, when


class StateFile(EsimGoBase):
    """dump() and load() of the simulated world."""

    def dump(self) -> dict[str, Any]:
        """Orders, eSIMs with their bundles and history, inventory and the balance, for the state file.
        Bundles are written by name; the catalogue itself comes from the seed."""
        name = attrgetter("name")
        with self._lock:
            return {
                "account": self.account.dump(),
                "next_assignment_id": self._next_assignment_id,
                "inventory": dict(self._inventory),
                "orders": [dump_record(o, lines=lambda ls: [dump_record(line, bundle=name) for line in ls]) for o in self._orders.values()],
                "pending": [o.reference for o in self._pending],
                "esims": [dump_record(e, assignments=lambda a_s: [dump_record(a, bundle=name) for a in a_s]) for e in self._esims.values()],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Take back what ``dump`` wrote; bundles are looked up in this sandbox's catalogue."""

        def bundle(name: Any) -> CatalogueBundle:
            found = self.catalogue.get(name) if isinstance(name, str) else None
            if found is None:
                raise StateUnreadable(f"eSIM Go bundle {name!r} is not in the catalogue")
            return found

        def lines(items: Any) -> list[OrderLine]:
            return [load_record(OrderLine, item, bundle=bundle) for item in items]

        def assignments(items: Any) -> list[Assignment]:
            return [load_record(Assignment, item, bundle=bundle) for item in items]

        def history(items: Any) -> list[tuple[str, str, datetime]]:
            return [(str(event), str(bundle_name), when(at)) for event, bundle_name, at in items]

        orders = {o.reference: o for o in (load_record(SimOrder, item, lines=lines) for item in data["orders"])}
        esims = {e.iccid: e for e in (load_record(Esim, item, assignments=assignments, history=history) for item in data["esims"])}
        for order in orders.values():
            for line in order.lines:
                if any(iccid not in esims for iccid in line.iccids):
                    raise StateUnreadable(f"order {order.reference} names an eSIM the state does not hold")
        with self._lock:
            self.account = Account.load(data["account"])
            self._next_assignment_id = int(data["next_assignment_id"])
            self._inventory = {str(k): int(v) for k, v in data["inventory"].items()}
            self._orders = orders
            self._pending = [orders[reference] for reference in data["pending"]]
            self._esims = esims
