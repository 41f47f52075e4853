"""Money is Decimal with its currency, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, field_validator


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
        return f"{format_amount(self.amount)} {self.currency}"


def format_amount(amount: Decimal) -> str:
    """At least two decimals; more only when the provider's figure has them (4.275 stays 4.275)."""
    exponent = amount.normalize().as_tuple().exponent if amount else 0
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
