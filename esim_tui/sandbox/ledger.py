"""The sandbox's money: one account per provider, every charge and refund on record."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Charge:
    client_reference: str | None
    order_id: str
    amount: Decimal
    refunded: bool = False

    def to_json(self) -> dict:
        return {
            "client_reference": self.client_reference,
            "order_id": self.order_id,
            "amount": self.amount,
            "refunded": self.refunded,
        }


@dataclass
class Account:
    balance: Decimal
    currency: str = "USD"
    charges: list[Charge] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, order_id: str, amount: Decimal, client_reference: str | None = None) -> Charge:
        with self._lock:
            self.balance -= amount
            charge = Charge(client_reference, order_id, amount)
            self.charges.append(charge)
            return charge

    def refund(self, order_id: str, amount: Decimal | None = None) -> Decimal:
        """Refund the charge of ``order_id`` once; returns what went back to the balance."""
        with self._lock:
            for charge in self.charges:
                if charge.order_id == order_id and not charge.refunded:
                    charge.refunded = True
                    back = charge.amount if amount is None else amount
                    self.balance += back
                    return back
        return Decimal(0)

    def to_json(self) -> dict:
        return {"balance": self.balance, "currency": self.currency, "charges": [c.to_json() for c in self.charges]}
