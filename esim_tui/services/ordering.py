"""Selling: quote, record the intent, place the order, adopt what the provider says, follow it.

The rules that keep the shop's money and the customer's eSIM safe live here, for every provider:

1. The client reference is minted and the intent is saved durably *before* the first request leaves.
2. Every retry of a sale reuses the same reference and the same plan.
3. An answer that is not definite is UNKNOWN, never FAILED: the order is looked up before anything else.
   A "Duplicate client_reference" means the first attempt landed: fetch and adopt it.
4. The activation code is saved before anything shows it, and a later answer never replaces it.
5. What cannot be settled with certainty is marked "needs attention" with the facts; never retried blindly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from esim_tui.domain.errors import (
    DuplicateReference,
    OutcomeUnknown,
    ProviderError,
    display_provider,
)
from esim_tui.domain.orders import Failure, Order, OrderStatus, ProviderOrder, check_client_reference, new_client_reference
from esim_tui.domain.plans import Plan, ProviderName, Quote
from esim_tui.domain.text import clean
from esim_tui.providers.base import Provider
from esim_tui.services.catalogue import Catalogue

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

OUTCOME_UNKNOWN = "Outcome unknown:"

#: Waits between look-ups of an order whose outcome is unknown (it may land late).
LOOKUP_WAITS = (1.0, 3.0, 8.0)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CatalogueLoad:
    catalogue: Catalogue
    errors: dict[ProviderName, ProviderError] = field(default_factory=dict)


class Sales:
    """The counter's ordering service. ``store`` is an OrderStore; its calls run in a thread."""

    def __init__(
        self,
        providers: Mapping[ProviderName, Provider],
        store,
        *,
        now: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        reference_prefix: str = "ESIM",
        mint: Callable[[datetime, str], str] = new_client_reference,
    ) -> None:
        self.providers = dict(providers)
        self.store = store
        self.now = now
        self.sleep = sleep
        self.reference_prefix = reference_prefix
        self._mint = mint

    def provider(self, name: ProviderName) -> Provider:
        return self.providers[name]

    # ------------------------------------------------------------ catalogue and quotes

    async def load_catalogue(self, *, refresh: bool = False) -> CatalogueLoad:
        """Plans from every provider; one provider failing leaves the others on sale."""
        names = list(self.providers)
        results = await asyncio.gather(*(self.providers[n].plans(refresh=refresh) for n in names), return_exceptions=True)
        plans: list[Plan] = []
        errors: dict[ProviderName, ProviderError] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, ProviderError):
                errors[name] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                plans.extend(result)
        return CatalogueLoad(await asyncio.to_thread(Catalogue.build, plans), errors)

    async def quote(self, plan: Plan) -> Quote:
        return await self.provider(plan.provider).quote(plan)

    # ------------------------------------------------------------ a sale

    def mint_reference(self) -> str:
        """The client reference a new sale will carry (shown on the confirmation before buying)."""
        return self._mint(self.now(), self.reference_prefix)

    async def open_sale(
        self, plan: Plan, quote: Quote | None, customer_label: str = "", customer_email: str = "", client_reference: str | None = None
    ) -> Order:
        """Record the intent durably. Nothing is sent yet; after this call the sale can never be lost."""
        at = self.now()
        order = Order(
            id=new_client_reference(at, "ORD").split("-", 1)[1].lower(),
            provider=plan.provider,
            client_reference=check_client_reference(client_reference or self.mint_reference()),
            plan=plan,
            price=quote.total if quote else plan.price,
            customer_label=clean(customer_label, max_length=120),
            customer_email=clean(customer_email, max_length=254),
            status=OrderStatus.UNKNOWN,
            created_at=at,
            updated_at=at,
        )
        order.note(at, "INTENT", f"{plan.name} for {order.price}")
        await self._save(order)
        return order

    async def place(self, order: Order) -> Order:
        """Send the order (or settle it, if it was sent before). Provider faults are recorded, not raised."""
        provider = self.provider(order.provider)
        order = order.model_copy(deep=True)
        order.note(self.now(), "SENT", order.client_reference)
        await self._save(order)
        try:
            answer = await provider.place_order(order.plan, order.client_reference)
        except DuplicateReference:
            return await self._settle(order, "the provider already has this reference")
        except OutcomeUnknown as exc:
            return await self._settle(order, exc.what)
        except ProviderError as exc:
            return await self._not_placed(order, exc)
        return await self.adopt(order, answer)

    async def adopt(self, order: Order, answer: ProviderOrder) -> Order:
        """Take in the provider's answer and save it (the code is on disk before anyone shows it)."""
        updated = order.merge(answer, self.now())
        if updated.needs_attention and updated.needs_attention.startswith(OUTCOME_UNKNOWN):
            updated.needs_attention = None  # the provider has now answered definitely
        await self._save(updated)
        return updated

    async def _not_placed(self, order: Order, exc: ProviderError) -> Order:
        # A definite refusal before anything was charged (4xx, credentials, never connected).
        order.status = OrderStatus.FAILED
        order.failure = Failure(code=f"NOT_PLACED:{type(exc).__name__}", reason=exc.message, is_user_fixable=True)
        order.note(self.now(), "FAILED", exc.message)
        await self._save(order)
        return order

    async def _settle(self, order: Order, why: str) -> Order:
        """The outcome is unknown: look the order up (it may land late) before anything else."""
        provider = self.provider(order.provider)
        order.note(self.now(), "OUTCOME UNKNOWN", why)
        await self._save(order)
        reposted = False
        for wait in (0.0, *LOOKUP_WAITS):
            if wait:
                await self.sleep(wait)
            try:
                found = await provider.find_order(order)
            except ProviderError as exc:
                log.info("lookup of %s failed: %s", order.client_reference, type(exc).__name__)
                continue
            if found is not None:
                order.note(self.now(), "FOUND", f"provider order {found.provider_order_id}")
                return await self.adopt(order, found)
            if provider.idempotent_orders and not reposted:
                # Same reference, same plan: the provider refuses a second charge ("Duplicate").
                reposted = True
                try:
                    answer = await provider.place_order(order.plan, order.client_reference)
                except (DuplicateReference, OutcomeUnknown):
                    continue
                except ProviderError as exc:
                    return await self._not_placed(order, exc)
                return await self.adopt(order, answer)
        order.needs_attention = (
            f"{OUTCOME_UNKNOWN} {display_provider(order.provider)} did not confirm the order and it could not be found. "
            "Check the provider's portal before selling again."
        )
        order.note(self.now(), "NEEDS ATTENTION", why)
        await self._save(order)
        return order

    # ------------------------------------------------------------ after the sale

    async def refresh(self, order: Order) -> Order:
        """Ask the provider now: fulfilment for a PENDING order, install state and data once delivered."""
        provider = self.provider(order.provider)
        if order.status is OrderStatus.UNKNOWN:
            return await self._settle(order, "checking an unsettled order")
        if order.status is OrderStatus.PENDING and order.provider_order_id:
            return await self.adopt(order, await provider.get_order(order.provider_order_id))
        if order.status is OrderStatus.DELIVERED:
            status = await provider.esim_status(order)
            updated = order.merge_esim(status, self.now())
            await self._save(updated)
            return updated
        return order

    async def follow_delivery(self, order: Order, on_change: Callable[[Order], None] | None = None) -> Order:
        """Poll a PENDING order on the provider's schedule until it is final or the schedule ends."""
        provider = self.provider(order.provider)
        for wait in provider.fulfilment_delays():
            if order.status is not OrderStatus.PENDING:
                break
            await self.sleep(wait)
            try:
                updated = await self.refresh(order)
            except ProviderError as exc:
                log.info("following %s: %s", order.client_reference, type(exc).__name__)
                continue
            if updated.status != order.status and on_change:
                on_change(updated)
            order = updated
        return order

    async def mark_shown(self, order: Order) -> Order:
        if order.shown_at is not None:
            return order
        updated = order.model_copy(deep=True)
        updated.shown_at = self.now()
        updated.note(updated.shown_at, "SHOWN")
        await self._save(updated)
        return updated

    async def reconcile(self) -> list[Order]:
        """At start, before new sales: settle every order whose outcome we never learnt."""
        unsettled = [o for o in await asyncio.to_thread(self.store.in_play) if o.status is OrderStatus.UNKNOWN]
        settled = []
        for order in unsettled:
            settled.append(await self._settle(order, "found unsettled at start"))
        return settled

    async def in_play(self) -> Sequence[Order]:
        return await asyncio.to_thread(self.store.in_play)

    async def _save(self, order: Order) -> None:
        await asyncio.to_thread(self.store.save, order)
