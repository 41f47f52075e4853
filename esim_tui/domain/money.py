"""Money is Decimal with its currency, never float."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator

from esim_tui.domain import formats


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str = "USD"

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            # A float has already lost the provider's digits; refuse rather than guess.
            raise TypeError("money must be given as Decimal, int or str, not float")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not (len(value) == 3 and value.isalpha()):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value

    def __str__(self) -> str:
        return format_money(self)


def format_money(money: Money) -> str:
    """"4.28 USD": the currency's minor units, for display; the record keeps the exact amount."""
    return formats.money(money.amount, money.currency)
