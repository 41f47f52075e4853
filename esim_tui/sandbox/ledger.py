"""The sandbox's money: one account per provider, every charge and every refund on record.

Charges and refunds are separate entries, so a drill can count the charges of a sale and see each
refund on its own: a whole order refunded when it fails, or one unit of it (an eSIM Go bundle revoked
with a refund to balance). The balance is always the opening balance, less the charges, plus the refunds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from esim_tui.sandbox.persist import StateUnreadable, dump_record, load_record


class RefundRefused(ValueError):
    """The ledger will not pay this refund: no such charge, the unit was refunded already, or more
    than what is left of the charge. The sandbox checks first; this is the last line."""


@dataclass
class Charge:
    client_reference: str | None
    order_id: str
    amount: Decimal
    refunded_amount: Decimal = Decimal(0)

    @property
    def refunded(self) -> bool:
        """True once the whole charge has gone back to the balance."""
        return self.refunded_amount >= self.amount

    def to_json(self) -> dict:
        return {
            "client_reference": self.client_reference,
            "order_id": self.order_id,
            "amount": str(self.amount),
            "refunded": self.refunded,
        }


@dataclass
class Refund:
    """Money back on one charge: all that was left of it, or one unit (``bundle``, ``unit``)."""

    client_reference: str | None
    order_id: str
    amount: Decimal
    bundle: str | None = None
    unit: str | None = None  # what exactly was refunded, e.g. an eSIM Go assignment id

    def to_json(self) -> dict:
        return {
            "kind": "refund",
            "client_reference": self.client_reference,
            "order_id": self.order_id,
            "amount": str(self.amount),
            "bundle": self.bundle,
            "unit": self.unit,
        }


@dataclass
class Account:
    balance: Decimal
    currency: str = "USD"
    charges: list[Charge] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, order_id: str, amount: Decimal, client_reference: str | None = None) -> Charge:
        with self._lock:
            self.balance -= amount
            charge = Charge(client_reference, order_id, amount)
            self.charges.append(charge)
            return charge

    def refund(self, order_id: str, amount: Decimal | None = None, *, bundle: str | None = None, unit: str | None = None) -> Decimal:
        """Give back ``amount`` of the charge of ``order_id`` (all that is left of it when None).

        Returns what went back to the balance: 0 when nothing of the charge is left for a refund of
        "all that is left". Raises RefundRefused for an order never charged, a ``unit`` refunded
        before, or an amount larger than what is left.
        """
        with self._lock:
            charge = next((c for c in self.charges if c.order_id == order_id), None)
            if charge is None:
                raise RefundRefused(f"order {order_id} was never charged")
            if unit is not None and any(r.order_id == order_id and r.unit == unit for r in self.refunds):
                raise RefundRefused(f"{unit} of order {order_id} was refunded already")
            left = charge.amount - charge.refunded_amount
            if amount is None:
                amount = left
            if amount < 0 or amount > left:
                raise RefundRefused(f"cannot refund {amount} of order {order_id}: {left} of it is left")
            if amount == 0:
                return Decimal(0)
            charge.refunded_amount += amount
            self.balance += amount
            self.refunds.append(Refund(charge.client_reference, order_id, amount, bundle, unit))
            return amount

    def to_json(self) -> dict:
        """What ``GET /_sandbox/ledger`` shows for this account (amounts as exact decimal strings)."""
        with self._lock:
            return {
                "balance": str(self.balance),
                "currency": self.currency,
                "charges": [c.to_json() for c in self.charges],
                "refunds": [r.to_json() for r in self.refunds],
            }

    def dump(self) -> dict[str, Any]:
        """Everything on the account, for the sandbox's state file (amounts exact)."""
        with self._lock:
            return dump_record(self, charges=lambda cs: [dump_record(c) for c in cs], refunds=lambda rs: [dump_record(r) for r in rs])

    @classmethod
    def load(cls, data: Any) -> Account:
        def records(kind: type):
            def read(items: Any) -> list:
                if not isinstance(items, list):
                    raise StateUnreadable(f"the ledger's {kind.__name__.lower()}s are not a list")
                return [load_record(kind, item) for item in items]

            return read

        return load_record(cls, data, charges=records(Charge), refunds=records(Refund))
