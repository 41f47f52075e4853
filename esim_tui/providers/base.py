"""The one interface every provider adapter implements. The UI and the ordering service see only this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from esim_tui.domain.money import Money
from esim_tui.domain.orders import EsimStatus, Order, ProviderOrder
from esim_tui.domain.plans import Plan, ProviderName, Quote


class Provider(ABC):
    """An eSIM provider, asynchronously. Every failure is raised as a ``domain.errors.ProviderError``."""

    name: ProviderName

    #: True when the provider deduplicates orders by our client reference (a re-POST cannot charge twice).
    idempotent_orders: bool = False

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

    def fulfilment_delays(self) -> Iterator[float]:
        """Seconds between polls of a PENDING order, until the provider's advice says stop."""
        return schedule([(300.0, None)], first=5.0, factor=2.0, cap=30.0)

    def install_delays(self) -> Iterator[float]:
        """Seconds between polls of a delivered eSIM that is not installed yet."""
        return schedule([(600.0, 45.0), (3600.0, 450.0)])

    def usage_delays(self) -> Iterator[float]:
        """Seconds between polls of an installed eSIM's data (providers forbid frequent polling)."""
        return schedule([(float("inf"), 600.0)])

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def schedule(phases: list[tuple[float, float | None]], first: float = 0.0, factor: float = 1.0, cap: float = 0.0) -> Iterator[float]:
    """Delays until each phase ends (seconds since the start): a fixed step, or (step None) ``first``
    growing by ``factor`` up to ``cap``."""
    elapsed = 0.0
    delay = first
    for until, step in phases:
        while elapsed < until:
            wait = step if step is not None else delay
            yield wait
            elapsed += wait
            if step is None:
                delay = min(delay * factor, cap)
