"""The one interface every provider adapter implements. The UI and the ordering service see only this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from esim_tui.domain.money import Money
from esim_tui.domain.orders import EsimStatus, Order, ProviderOrder
from esim_tui.domain.plans import Plan, ProviderName, Quote


class Provider(ABC):
    """An eSIM provider, asynchronously. Every failure is raised as a ``domain.errors.ProviderError``."""

    name: ProviderName

    #: How the provider wants to be asked about a PENDING order: (first wait, growth factor, cap, give up after), seconds.
    fulfilment_schedule: tuple[float, float, float, float] = (5.0, 2.0, 30.0, 300.0)

    @abstractmethod
    async def plans(self, *, refresh: bool = False) -> Sequence[Plan]:
        """Every plan on sale, all destinations. Cached by the adapter; ``refresh`` asks the provider again."""

    @abstractmethod
    async def quote(self, plan: Plan) -> Quote:
        """What the plan costs now, without charging anything."""

    @abstractmethod
    async def place_order(self, plan: Plan, client_reference: str) -> ProviderOrder:
        """Buy one eSIM with the plan. Charges the shop.

        Raises ``OutcomeUnknown`` when the request may have been charged without a definite answer,
        and ``DuplicateReference`` when an order under this reference already exists.
        """

    @abstractmethod
    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        """The order as the provider has it now (for Octopus Cards this also refreshes install state)."""

    @abstractmethod
    async def find_order(self, order: Order) -> ProviderOrder | None:
        """Find the provider's order for one of our records whose outcome we never learnt.

        Octopus Cards looks it up by client reference; eSIM Go, which has none, matches on plan and time.
        Returns None when the provider definitely has no such order.
        """

    @abstractmethod
    async def esim_status(self, order: Order) -> EsimStatus:
        """Install state, activation status and data of a delivered order's eSIM."""

    @abstractmethod
    async def balance(self) -> Money:
        """The shop's wallet or organisation balance with this provider."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
