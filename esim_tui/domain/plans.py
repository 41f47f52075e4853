"""Plans (what a provider sells for a destination) and quotes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from esim_tui.domain import formats
from esim_tui.domain.destinations import Destination
from esim_tui.domain.money import Money


class ProviderName(StrEnum):
    OCTOPUS = "octopus"
    ESIMGO = "esimgo"

    @property
    def display(self) -> str:
        return {"octopus": "Octopus Cards", "esimgo": "eSIM Go"}[self.value]


class Plan(BaseModel):
    """One thing a customer can buy: data for a number of days at a destination, at a price."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    plan_id: str  # the provider's id for it: Octopus variant id, eSIM Go bundle name
    product_id: str | None = None  # Octopus product id; the order is (product_id, amount)
    name: str
    destination: Destination
    data_mb: int | None  # base-10 megabytes (1 GB = 1000 MB); None when unlimited
    unlimited: bool = False
    unlimited_kind: str | None = None  # the provider's name for its unlimited tier: "Unlimited Lite"
    validity_days: int
    price: Money  # the list price as the provider states it
    description: str = ""
    coverage: tuple[str, ...] = ()  # ISO alpha-2 of the countries covered
    roaming: tuple[str, ...] = ()  # further countries where it roams
    speeds: tuple[str, ...] = ()  # "4G", "5G"... when the provider says
    autostart: bool | None = None
    discount_percent: Decimal | None = None  # Octopus client_discount, applied to the wallet debit

    @property
    def key(self) -> str:
        return f"{self.provider.value}:{self.plan_id}"

    @property
    def data_label(self) -> str:
        if self.unlimited or self.data_mb is None:
            return self.unlimited_kind or "Unlimited"
        return format_megabytes(self.data_mb)


class Quote(BaseModel):
    """What the provider says the plan will cost now, before anything is charged."""

    model_config = ConfigDict(frozen=True)

    plan_key: str
    total: Money
    valid: bool = True
    note: str = ""
    quoted_at: datetime | None = None


def format_megabytes(mb: int | Decimal) -> str:
    """"750 MB", "1.5 GB", "10 GB" (base-10: 1 GB = 1000 MB, as providers count)."""
    return formats.megabytes(mb)


def format_bytes(n: int) -> str:
    """Bytes in the same units (1 GB = 1,000,000,000 bytes): "750 MB", "1.5 GB"."""
    return formats.data_bytes(n)
