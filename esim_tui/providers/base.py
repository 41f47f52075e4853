"""The one interface every provider adapter implements. The UI and the ordering service see only this."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta

from esim_tui.domain.errors import NotOffered, display_provider

from esim_tui.domain.money import Money
from esim_tui.domain.orders import EsimStatus, Order, ProviderOrder, RefundCheck
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

    #: True when a bundle can be added to an eSIM already sold (eSIM Go); False means a new sale instead.
    supports_top_up: bool = False

    @abstractmethod
    async def place_order(self, plan: Plan, client_reference: str, *, iccid: str | None = None) -> ProviderOrder:
        """Buy one eSIM with the plan, or with ``iccid`` add the plan to that eSIM (a top-up). Charges the shop.

        Raises ``OutcomeUnknown`` when the request may have been charged without a definite answer,
        ``DuplicateReference`` when an order under this reference already exists, and ``NotOffered``
        for a top-up where the provider has none.
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

    async def order_candidates(self, order: Order, *, lookback: timedelta | None = None) -> Sequence[ProviderOrder]:
        """Every provider order that may be this record's. Certain providers (a client reference)
        give at most one; eSIM Go gives those of the same plan and quantity placed since the intent,
        less a few minutes of clock skew, or less ``lookback`` when given (the desk, choosing by hand,
        sees a wider window). The ordering service drops candidates already claimed by other records
        and adopts only a single remaining one."""
        found = await self.find_order(order)
        return [found] if found is not None else []

    @abstractmethod
    async def esim_status(self, order: Order) -> EsimStatus:
        """Install state, activation status and data of a delivered order's eSIM."""

    @abstractmethod
    async def balance(self) -> Money | None:
        """The shop's wallet or organisation balance with this provider; None when it publishes none."""

    async def top_up_plans(self, order: Order) -> Sequence[Plan]:
        """The plans that can be added to this order's eSIM (checked with the provider)."""
        raise NotOffered(self.name, "top-ups", "Sell a new eSIM for the same destination instead.")

    #: True when a bundle can be refunded through the API (eSIM Go); False: the provider's support does it.
    supports_refunds: bool = False

    async def check_refund(self, order: Order, bundle_name: str, *, assignment_id: str | None = None) -> RefundCheck:
        """What revoking the bundle would refund, asked without changing anything. ``assignment_id``
        names which assignment, where an eSIM holds several bundles of one name."""
        raise self._no_refunds()

    async def refund(self, order: Order, bundle_name: str, *, assignment_id: str | None = None) -> RefundCheck:
        """Revoke the bundle and refund it to the balance. Only after ``check_refund`` said it may."""
        raise self._no_refunds()

    def _no_refunds(self) -> NotOffered:
        return NotOffered(self.name, "refunds through its API", f"Contact {display_provider(self.name)} support to refund it.")

    async def send_receipt(self, order: Order, email: str) -> bool:
        """Ask the provider to e-mail the customer their receipt and install details. False where the
        provider has no such service (the agent hands the codes over instead)."""
        return False

    async def install_pack(self, order: Order) -> bytes | None:
        """The provider's own install pack for the order (eSIM Go: a ZIP of QR PNGs), or None."""
        return None

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


class CatalogueCache:
    """A provider's plans, kept for ``ttl`` seconds (both providers ask not to be polled often).
    One fetch at a time: screens asking together share it."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[Plan, ...]]], monotonic: Callable[[], float], ttl: float) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._ttl = ttl
        self.plans: tuple[Plan, ...] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, refresh: bool = False) -> tuple[Plan, ...]:
        async with self._lock:
            fresh = self.plans is not None and self._monotonic() - self._fetched_at < self._ttl
            if refresh or not fresh:
                self.plans = await self._fetch()
                self._fetched_at = self._monotonic()
            assert self.plans is not None
            return self.plans
