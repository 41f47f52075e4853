"""Selling: quote, record the intent, place the order, adopt what the provider says, follow it.

The rules that keep the shop's money and the customer's eSIM safe live here, for every provider:

1. The client reference is minted and the intent is saved durably *before* the first request leaves.
2. Every retry of a sale reuses the same reference and the same plan.
3. An answer that is not definite is UNKNOWN, never FAILED: the order is looked up before anything else.
   A "Duplicate client_reference" means the first attempt landed: fetch and adopt it. An intent
   never sent ("SENT" is saved before the request leaves) is simply sent: nothing can be its order.
4. The activation code is saved before anything shows it, and a later answer never replaces it.
5. What cannot be settled with certainty is marked "needs attention" with the facts; never retried blindly.
   Without a reference (eSIM Go) a single matching order is adopted only if no other unsettled sale
   of ours could own it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from esim_tui.domain.errors import (
    DuplicateReference,
    EsimTuiError,
    OutcomeUnknown,
    ProviderError,
    display_provider,
)
from esim_tui.domain.money import Money
from esim_tui.domain.orders import (
    REFUNDED,
    BundleUsage,
    EsimStatus,
    Failure,
    Order,
    OrderKind,
    OrderStatus,
    ProviderOrder,
    RefundCheck,
    check_client_reference,
    new_client_reference,
)
from esim_tui.domain.plans import Plan, ProviderName, Quote
from esim_tui.domain.text import clean
from esim_tui.providers.base import Provider
from esim_tui.services.catalogue import Catalogue
from esim_tui.services.support import linked_orders

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

OUTCOME_UNKNOWN = "Outcome unknown:"
HAND_LOOKBACK = timedelta(hours=6)  # how far before the intent the desk is shown possible orders
RECEIPT = "RECEIPT"
# What the agent does with a sale, noted on its timeline each time (see ``Sales.note``).
SHOWN, SHOWN_AGAIN, CODE_COPIED, EXPORTED, REFUND_CHECKED = "SHOWN", "SHOWN AGAIN", "CODE COPIED", "EXPORTED", "REFUND CHECKED"

#: Waits between look-ups of an order whose outcome is unknown (it may land late).
LOOKUP_WAITS = (1.0, 3.0, 8.0)


def _top_up_iccid(order: Order) -> str | None:
    return order.iccid if order.kind is OrderKind.TOP_UP else None


def _bundle_key(bundle: BundleUsage | str | None) -> tuple[str, str | None]:
    """The bundle name and assignment id a refund names."""
    if isinstance(bundle, BundleUsage):
        return bundle.bundle_name, bundle.assignment_id
    return bundle or "", None


def refund_owner(bundle: BundleUsage, orders: Sequence[Order]) -> Order | None:
    """Among the records of one eSIM (a sale and its top-ups), the one that bought ``bundle``: a refund
    is checked for and recorded on it. None when none of them says so."""
    return next((o for o in orders if o.owns(bundle)), None)


def _was_sent(order: Order) -> bool:
    return any(change.event == "SENT" for change in order.history)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


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
        self._saving = asyncio.Lock()  # one save at a time: each keeps the history the record already has

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
        self,
        plan: Plan,
        quote: Quote | None,
        customer_label: str = "",
        customer_email: str = "",
        client_reference: str | None = None,
        *,
        top_up_of: Order | None = None,
        follows: Order | None = None,
    ) -> Order:
        """Record the intent durably. Nothing is sent yet; after this call the sale can never be lost.

        ``top_up_of``: the plan goes onto that order's eSIM (a top-up). ``follows``: a new eSIM for the
        same customer, linked to that earlier sale (where the provider has no top-ups)."""
        at = self.now()
        parent = top_up_of or follows
        if top_up_of is not None and not top_up_of.iccid:
            raise ValueError("a top-up needs the eSIM's ICCID")
        order = Order(
            id=self._mint(at, "ORD").split("-", 1)[1].lower(),  # the same minting, so tests can fix it
            provider=plan.provider,
            client_reference=check_client_reference(client_reference or self.mint_reference()),
            kind=OrderKind.TOP_UP if top_up_of is not None else OrderKind.SALE,
            linked_order_id=parent.id if parent is not None else None,
            iccid=top_up_of.iccid if top_up_of is not None else None,
            plan=plan,
            price=quote.total if quote else plan.price,
            customer_label=clean(customer_label or (parent.customer_label if parent else ""), max_length=120),
            customer_email=clean(customer_email or (parent.customer_email if parent else ""), max_length=254),
            status=OrderStatus.UNKNOWN,
            created_at=at,
            updated_at=at,
        )
        order.note(at, "INTENT", f"{'Top-up: ' if top_up_of is not None else ''}{plan.name} for {order.price}")
        await self._save(order)
        return order

    async def place(self, order: Order) -> Order:
        """Send the order (or settle it, if it was sent before). Provider faults are recorded, not raised."""
        provider = self.provider(order.provider)
        order = order.model_copy(deep=True)
        order.note(self.now(), "SENT", order.client_reference)
        await self._save(order)
        try:
            answer = await provider.place_order(order.plan, order.client_reference, iccid=_top_up_iccid(order))
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
        if updated.kind is OrderKind.TOP_UP and updated.status is OrderStatus.DELIVERED and not updated.bundles:
            # Onto an eSIM already out there (maybe installed, in use): its state from the start.
            try:
                updated = await self._take_esim(updated, await self.provider(updated.provider).esim_status(updated))
            except ProviderError as exc:
                log.info("the eSIM of top-up %s not read yet: %s", updated.client_reference, type(exc).__name__)
        if updated.customer_email and updated.status in (OrderStatus.PENDING, OrderStatus.DELIVERED):
            updated = await self._send_receipt(updated)
        return updated

    async def _send_receipt(self, order: Order) -> Order:
        """Once per order: ask the provider to e-mail the customer. A failure is noted, never fatal:
        the agent still has the codes on screen."""
        if any(change.event.startswith(RECEIPT) for change in order.history):
            return order
        try:
            sent = await self.provider(order.provider).send_receipt(order, order.customer_email)
        except ProviderError as exc:
            # After the charge: the error's own advice ("nothing was charged", "try again") would be false here.
            order.note(self.now(), f"{RECEIPT} NOT SENT", f"{exc.what} The sale itself went through: hand the customer the codes on screen.")
        else:
            if not sent:
                return order
            order.note(self.now(), f"{RECEIPT} E-MAILED", order.customer_email)
        await self._save(order)
        return order

    async def _not_placed(self, order: Order, exc: ProviderError) -> Order:
        # A definite refusal before anything was charged (4xx, credentials, never connected).
        order.status = OrderStatus.FAILED
        order.failure = Failure(code=f"NOT_PLACED:{type(exc).__name__}", reason=exc.message, is_user_fixable=True)
        order.note(self.now(), "FAILED", exc.message)
        await self._save(order)
        return order

    # ------------------------------------------------------------ settled by the agent

    async def possible_orders(self, order: Order) -> list[ProviderOrder]:
        """What the provider has now that may be this unsettled sale, less those other records hold.
        Looks further back than the automatic match: the desk chooses, so a shop clock running ahead
        of the provider's must not hide the customer's order."""
        found = await self.provider(order.provider).order_candidates(order, lookback=HAND_LOOKBACK)
        return await self._unclaimed(order, found)

    async def settle_by_hand(self, order: Order, chosen: ProviderOrder | None) -> Order:
        """The agent's decision on a sale whose outcome is unknown, after checking the provider's portal:
        ``chosen`` is the customer's order (taken in, its code saved), or None when the provider has no
        order for it (closed as not placed: nothing was charged)."""
        current = await self.order(order.id) or order
        if current.status is not OrderStatus.UNKNOWN:
            raise EsimTuiError(f"This sale is already settled ({current.status.value.lower()}).")
        if chosen is None:
            current.status = OrderStatus.FAILED
            reason = f"No order at {display_provider(current.provider)} (checked by the agent); nothing was charged."
            current.failure = Failure(code="NOT_PLACED:CHECKED_BY_AGENT", reason=reason, is_user_fixable=True)
            current.needs_attention = None
            current.note(self.now(), "SETTLED BY HAND", "no order at the provider: not placed")
            await self._save(current)
            return current
        owner = await asyncio.to_thread(self.store.by_provider_order_id, chosen.provider_order_id)
        if owner is not None and owner.id != current.id:
            raise EsimTuiError(f"Provider order {chosen.provider_order_id} is already the sale {owner.client_reference}.")
        current.note(self.now(), "SETTLED BY HAND", f"provider order {chosen.provider_order_id}")
        return await self.adopt(current, chosen)  # clears the "outcome unknown" attention

    async def _settle(self, order: Order, why: str) -> Order:
        """The outcome is unknown: look the order up (it may land late) before anything else."""
        provider = self.provider(order.provider)
        if not _was_sent(order):
            # SENT is saved before the request leaves: nothing was sent, so nothing can be found or
            # charged, and any order the provider lists is someone else's. Sending it now is its first send.
            return await self.place(order)
        if not (order.needs_attention or "").startswith(OUTCOME_UNKNOWN):  # noted once, not at every poll
            order.note(self.now(), "OUTCOME UNKNOWN", why)
            await self._save(order)
        reposted = False
        answered = False  # did the provider answer any lookup at all?
        for wait in (0.0, *LOOKUP_WAITS):
            if wait:
                await self.sleep(wait)
            try:
                candidates = await self._unclaimed(order, await provider.order_candidates(order))
                rivals = await self._rivals(order, candidates[0]) if len(candidates) == 1 else []
            except ProviderError as exc:
                log.info("lookup of %s failed: %s", order.client_reference, type(exc).__name__)
                continue
            answered = True
            if len(candidates) == 1 and not rivals:
                found = candidates[0]
                order.note(self.now(), "FOUND", f"provider order {found.provider_order_id}")
                return await self.adopt(order, found)
            if candidates:  # several, or one that another unsettled sale of ours may own
                ids = ", ".join(c.provider_order_id for c in candidates)
                others = ", ".join(r.client_reference for r in rivals)
                return await self._needs_attention(
                    order,
                    f"{OUTCOME_UNKNOWN} {display_provider(order.provider)} has {len(candidates)} "
                    f"order{'s' if len(candidates) > 1 else ''} that could be this sale ({ids})"
                    f"{f'; the unsettled sale {others} may own it too' if rivals else ''}. "
                    "Check which one is the customer's in the provider's portal before selling again.",
                    f"{len(candidates)} possible orders: {ids}" + (f"; also claimed by {others}" if rivals else ""),
                )
            if provider.idempotent_orders and not reposted:
                # Same reference, same plan: the provider refuses a second charge ("Duplicate").
                reposted = True
                try:
                    answer = await provider.place_order(order.plan, order.client_reference, iccid=_top_up_iccid(order))
                except (DuplicateReference, OutcomeUnknown):
                    continue
                except ProviderError as exc:
                    return await self._not_placed(order, exc)
                return await self.adopt(order, answer)
        found = "it could not be found" if answered else "it could not be looked up (no answer)"
        return await self._needs_attention(
            order,
            f"{OUTCOME_UNKNOWN} {display_provider(order.provider)} did not confirm the order and {found}. "
            "Check the provider's portal before selling again.",
            why,
        )

    async def _needs_attention(self, order: Order, facts: str, detail: str) -> Order:
        """Flag the order for the agent; the timeline notes it only when the facts change (the order is
        looked up again at every poll and start)."""
        if order.needs_attention != facts:
            order.needs_attention = facts
            order.note(self.now(), "NEEDS ATTENTION", detail)
            await self._save(order)
        return order

    # ------------------------------------------------------------ after the sale

    async def refresh(self, order: Order) -> Order:
        """Ask the provider now: fulfilment for a PENDING order, install state and data once delivered."""
        provider = self.provider(order.provider)
        # Start from the record on file: a caller's copy may be older (the store refuses a copy
        # that would drop a stored activation code).
        order = await asyncio.to_thread(self.store.get, order.id) or order
        if order.status is OrderStatus.UNKNOWN:
            return await self._settle(order, "checking an unsettled order")
        if order.status is OrderStatus.PENDING and order.provider_order_id:
            return await self.adopt(order, await provider.get_order(order.provider_order_id))
        if order.status is OrderStatus.DELIVERED:
            return await self._take_esim(order, await provider.esim_status(order))
        return order

    async def _take_esim(self, order: Order, status: EsimStatus) -> Order:
        """Save what the provider says of the order's eSIM, on it and on every other delivered record of
        that eSIM (a sale and its top-ups): installed, active and data are the eSIM's, shared by all."""
        at = self.now()
        updated = order.merge_esim(status, at)
        await self._save(updated)
        for other in await asyncio.to_thread(self.store.by_iccid, updated.iccid) if updated.iccid else []:
            if other.id == updated.id or other.provider != updated.provider or other.status is not OrderStatus.DELIVERED:
                continue
            shared = other.merge_esim(status, at)
            if shared.model_dump(exclude={"updated_at"}) != other.model_dump(exclude={"updated_at"}):
                await self._save(shared)
        return updated

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
        """The activation code is on screen: the first time, and each time it is shown again. A spent
        code (the eSIM is installed) is not shown, so nothing is noted then."""
        current = await self.order(order.id) or order
        if current.activation_code is None or current.is_installed:
            return current
        if current.shown_at is not None:
            return await self.note(current, SHOWN_AGAIN)
        updated = current.model_copy(deep=True)
        updated.shown_at = self.now()
        updated.note(updated.shown_at, SHOWN)
        await self._save(updated)
        return updated

    async def note(self, order: Order, event: str, detail: str = "") -> Order:
        """Note what the agent did with the order (copied the code, exported it...) on its timeline, on
        the record on file (the caller's copy may be older). Every time: each is its own event."""
        updated = (await self.order(order.id) or order).model_copy(deep=True)
        updated.note(self.now(), event, detail)
        await self._save(updated)
        return updated

    async def reconcile(self) -> list[Order]:
        """At start, before new sales: settle every order whose outcome we never learnt."""
        unsettled = [o for o in await asyncio.to_thread(self.store.in_play) if o.status is OrderStatus.UNKNOWN]
        settled = []
        for order in unsettled:
            settled.append(await self._settle(order, "found unsettled at start"))
        return settled

    # ------------------------------------------------------------ after-sales: top-ups, refunds, balances

    async def top_up_plans(self, order: Order) -> Sequence[Plan]:
        """What can be added to the order's eSIM; raises NotOffered where the provider has no top-ups."""
        return await self.provider(order.provider).top_up_plans(order)

    async def note_top_up(self, parent: Order, top_up: Order) -> Order:
        """Mark on the parent that a top-up (or a follow-up sale) went through."""
        updated = parent.model_copy(deep=True)
        if top_up.id not in updated.follow_ups:
            updated.follow_ups.append(top_up.id)
        updated.note(self.now(), "TOPPED UP" if top_up.kind is OrderKind.TOP_UP else "NEW ESIM SOLD", f"{top_up.plan.name} (order {top_up.id})")
        await self._save(updated)
        return updated

    async def check_refund(self, order: Order, bundle: BundleUsage | str | None) -> RefundCheck:
        """What refunding ``bundle`` (a row of the eSIM's bundles, or a bundle name) would give back.
        ``order`` is the record that bought it (see ``refund_owner``). None: the provider's answer to
        a refund at all (Octopus Cards: none through its API)."""
        name, assignment_id = _bundle_key(bundle)
        try:
            check = await self.provider(order.provider).check_refund(order, name, assignment_id=assignment_id)
        except ProviderError as exc:
            await self.note(order, REFUND_CHECKED, f"{name or order.plan.name}: {exc.what}")
            raise
        if check.refundable:
            answer = f"{check.amount} would be refunded" if check.amount is not None else "refundable"
        else:
            answer = f"cannot be refunded{': ' + check.reason if check.reason else ''}"
        await self.note(order, REFUND_CHECKED, f"{name}: {answer}")
        return check

    async def refund(self, order: Order, bundle: BundleUsage | str) -> tuple[Order, RefundCheck]:
        """Revoke the bundle and refund it, then record it on ``order``, the record that bought it.
        The agent saw ``check_refund`` first.

        A refund that may or may not have gone through is recorded as such (needs attention), never
        retried: the provider would refuse or, worse, refund twice."""
        name, assignment_id = _bundle_key(bundle)
        provider = self.provider(order.provider)
        # From the record on file: the caller's copy (e.g. a linked order) may be older.
        updated = (await self.order(order.id) or order).model_copy(deep=True)
        updated.note(self.now(), "REFUND REQUESTED", name)
        await self._save(updated)
        try:
            result = await provider.refund(updated, name, assignment_id=assignment_id)
        except OutcomeUnknown as exc:
            updated.needs_attention = f"A refund of {name} was asked for but not confirmed ({exc.what}). Check the bundle before asking again."
            updated.note(self.now(), "NEEDS ATTENTION", updated.needs_attention)
            await self._save(updated)
            raise
        if result.refundable:
            amount = f"{result.amount}" if result.amount is not None else "nothing"
            updated.note(self.now(), REFUNDED, f"{name}: {amount}")
        else:
            updated.note(self.now(), "REFUND REFUSED", f"{name}: {result.reason}")
        await self._save(updated)
        return updated, result

    async def balances(self) -> dict[ProviderName, Money | ProviderError | None]:
        """Each provider's balance (None where it publishes none); one failing leaves the others."""
        names = list(self.providers)
        results = await asyncio.gather(*(self.providers[n].balance() for n in names), return_exceptions=True)
        out: dict[ProviderName, Money | ProviderError | None] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, ProviderError):
                raise result
            out[name] = result
        return out

    async def order(self, order_id: str) -> Order | None:
        return await asyncio.to_thread(self.store.get, order_id)

    async def linked(self, order: Order) -> list[Order]:
        """The sale this order tops up or follows, and its own top-ups and follow-up sales, oldest first."""
        return await asyncio.to_thread(linked_orders, self.store, order)

    async def in_play(self) -> Sequence[Order]:
        return await asyncio.to_thread(self.store.in_play)

    async def _unclaimed(self, order: Order, candidates: Sequence[ProviderOrder]) -> list[ProviderOrder]:
        """Drop provider orders another record of ours already holds: they are not this sale."""

        def free(candidate: ProviderOrder) -> bool:
            owner = self.store.by_provider_order_id(candidate.provider_order_id)
            return owner is None or owner.id == order.id

        return [c for c in candidates if await asyncio.to_thread(free, c)]

    async def _rivals(self, order: Order, candidate: ProviderOrder) -> list[Order]:
        """Our other unsettled sales that the provider's own matching also gives ``candidate``: while
        one of them may be its owner, adopting it here would be a guess. None where orders carry our
        reference (the match is certain)."""
        provider = self.provider(order.provider)
        if provider.idempotent_orders:
            return []
        in_play = await asyncio.to_thread(self.store.in_play)
        rivals = []
        for other in in_play:
            if other.id == order.id or other.status is not OrderStatus.UNKNOWN or not _was_sent(other):
                continue
            if other.provider != order.provider or other.plan.plan_id != order.plan.plan_id:
                continue
            if any(c.provider_order_id == candidate.provider_order_id for c in await provider.order_candidates(other)):
                rivals.append(other)
        return rivals

    async def _save(self, order: Order) -> None:
        async with self._saving:
            await asyncio.to_thread(self._save_keeping_history, order)

    def _save_keeping_history(self, order: Order) -> None:
        """Save ``order`` with every event the record on file already has: a copy read before an agent's
        note or a poll's news (a refresh waits on the provider meanwhile) must not drop it."""
        stored = self.store.get(order.id)
        if stored is not None:
            have = set(order.history)
            missing = [c for c in stored.history if c not in have]
            if missing:
                order.history = sorted([*order.history, *missing], key=lambda c: _aware(c.at))
            if order.shown_at is None:
                order.shown_at = stored.shown_at
        self.store.save(order)
