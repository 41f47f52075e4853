"""eSIM Go sales of unknown outcome, settled at the next start (Sales.reconcile).

eSIM Go has no idempotency key: an order is found again only by matching the orders placed since the
intent (same bundle, quantity 1, time window), and a transaction is never sent twice once it may have
left. Each test leaves a sale unsettled the way a counter would meet it (the create is reset while eSIM
Go cannot list its orders, then the app is closed), starts the app again on the same order file, and
checks the ledger and the record: adopted when exactly one order can be the sale's; "needs attention"
with the facts, nothing sent, when it could be more than one or none; never an order another record
holds, or may own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.domain.plans import Plan, ProviderName
from esim_tui.providers.esimgo import EsimGo
from esim_tui.sandbox.app import Sandbox
from esim_tui.services.ordering import OUTCOME_UNKNOWN, Sales
from esim_tui.store.orders import OrderStore
from tests.providers.conftest import Recording, Waits, control, esimgo_adapter, esimgo_fault, ledger

pytestmark = pytest.mark.anyio

ESIMGO = ProviderName.ESIMGO
NL = "esim_1GB_7D_NL_V2"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "orders.json"


@pytest.fixture
async def plan(sandbox: Sandbox) -> AsyncIterator[Plan]:
    adapter = esimgo_adapter(sandbox)
    yield next(p for p in await adapter.plans() if p.plan_id == NL)
    await adapter.aclose()


class App:
    """One run of the app: an adapter (requests recorded), the order file, Sales on the sandbox's clock."""

    def __init__(self, sandbox: Sandbox, path: Path) -> None:
        self.sandbox = sandbox
        self.net = Recording(sandbox)
        self.adapter: EsimGo = esimgo_adapter(sandbox, transport=self.net)
        self.store = OrderStore.open(path)
        self.sales = Sales({ESIMGO: self.adapter}, self.store, now=sandbox.state.clock.now, sleep=Waits())

    async def close(self) -> None:
        await self.adapter.aclose()
        self.store.close()

    def creates(self) -> int:
        return len(self.net.paths("POST"))


async def run_app(sandbox: Sandbox, path: Path, what):
    app = App(sandbox, path)
    try:
        return await what(app)
    finally:
        await app.close()


async def sell(sandbox: Sandbox, path: Path, plan: Plan, create_fault: str | None = None, *, lookups_fail: bool = False) -> Order:
    """One sale at the counter, the create meeting ``create_fault`` and, with ``lookups_fail``, every
    order list answering 503 meanwhile; then the app is closed."""
    if create_fault:
        await esimgo_fault(sandbox, endpoint="create_order", kind=create_fault)
    if lookups_fail:
        await esimgo_fault(sandbox, endpoint="list_orders", kind="error_503", retry_after="1", count=50)

    async def sale(app: App) -> Order:
        return await app.sales.place(await app.sales.open_sale(plan, None, "Customer"))

    try:
        return await run_app(sandbox, path, sale)
    finally:
        await control(sandbox, "DELETE", "/_sandbox/faults")


async def unsettled(sandbox: Sandbox, path: Path, plan: Plan, create_fault: str) -> Order:
    order = await sell(sandbox, path, plan, create_fault, lookups_fail=True)
    assert order.status is OrderStatus.UNKNOWN and order.needs_attention.startswith(OUTCOME_UNKNOWN)
    return order


async def next_start(sandbox: Sandbox, path: Path) -> tuple[list[Order], dict[str, Order], int]:
    """The app starting again: earlier sales settled before anything else. Returns what it settled,
    every record on file afterwards, and how many creates it sent."""

    async def start(app: App) -> tuple[list[Order], dict[str, Order], int]:
        settled = await app.sales.reconcile()
        return settled, {o.id: o for o in app.store.all()}, app.creates()

    return await run_app(sandbox, path, start)


async def charges(sandbox: Sandbox) -> list[dict]:
    return (await ledger(sandbox, "esimgo"))["charges"]


async def provider_code(sandbox: Sandbox, provider_order_id: str) -> str:
    adapter = esimgo_adapter(sandbox)
    try:
        code = (await adapter.get_order(provider_order_id)).activation_code
    finally:
        await adapter.aclose()
    assert code
    return code


async def test_the_one_order_that_can_be_the_sale_is_adopted_with_its_code_and_one_charge(sandbox, path, plan):
    lost = await unsettled(sandbox, path, plan, "drop_after_commit")  # charged, the answer reset
    [charge] = await charges(sandbox)

    settled, records, creates = await next_start(sandbox, path)
    order = records[lost.id]
    assert [o.id for o in settled] == [lost.id] and creates == 0
    assert order.status is OrderStatus.DELIVERED and order.needs_attention is None
    assert order.provider_order_id == charge["order_id"] and not charge["refunded"]
    assert order.activation_code == await provider_code(sandbox, charge["order_id"])
    assert "FOUND" in [c.event for c in order.history]
    assert len(await charges(sandbox)) == 1

    settled, again, creates = await next_start(sandbox, path)
    assert settled == [] and again == records and creates == 0  # once settled, settled


async def test_two_orders_that_could_be_the_sale_need_attention_with_both_ids_and_nothing_is_sent(sandbox, path, plan):
    lost = await unsettled(sandbox, path, plan, "drop_after_commit")
    portal = esimgo_adapter(sandbox)  # the same bundle bought in eSIM Go's portal, by someone else
    await portal.place_order(plan, "PORTAL")
    await portal.aclose()
    ids = [c["order_id"] for c in await charges(sandbox)]

    settled, records, creates = await next_start(sandbox, path)
    order = records[lost.id]
    assert [o.id for o in settled] == [lost.id]
    assert order.status is OrderStatus.UNKNOWN and order.provider_order_id is None and order.activation_code is None
    assert order.needs_attention.startswith(OUTCOME_UNKNOWN)
    assert all(i in order.needs_attention for i in ids) and "portal" in order.needs_attention
    assert creates == 0 and len(await charges(sandbox)) == 2  # nothing retried, nothing charged


async def test_an_order_another_record_holds_is_never_adopted_a_second_time(sandbox, path, plan):
    earlier = await sell(sandbox, path, plan)  # delivered: its order is ours, on file
    lost = await unsettled(sandbox, path, plan, "drop_before_commit")  # reset before eSIM Go took it
    assert [c["order_id"] for c in await charges(sandbox)] == [earlier.provider_order_id]

    settled, records, creates = await next_start(sandbox, path)
    order = records[lost.id]
    assert [o.id for o in settled] == [lost.id]
    assert order.status is OrderStatus.UNKNOWN and order.provider_order_id is None
    assert "could not be found" in order.needs_attention
    assert records[earlier.id] == earlier  # untouched
    assert creates == 0 and len(await charges(sandbox)) == 1


async def test_an_order_another_unsettled_sale_may_own_is_not_adopted(sandbox, path, plan):
    """The first sale was charged and its answer lost; the second was reset before eSIM Go took it.
    Both look alike from here (same bundle, same time window): neither gets the one order by a guess."""
    first = await unsettled(sandbox, path, plan, "drop_after_commit")
    [charge] = await charges(sandbox)
    # During the second sale eSIM Go answers look-ups again, and lists the first sale's order.
    second = await sell(sandbox, path, plan, "drop_before_commit")
    assert second.status is OrderStatus.UNKNOWN and second.provider_order_id is None
    assert charge["order_id"] in second.needs_attention and first.client_reference in second.needs_attention

    settled, records, creates = await next_start(sandbox, path)
    assert {o.id for o in settled} == {first.id, second.id}
    for order, other in ((records[first.id], second), (records[second.id], first)):
        assert order.status is OrderStatus.UNKNOWN and order.provider_order_id is None
        assert charge["order_id"] in order.needs_attention and other.client_reference in order.needs_attention
    assert creates == 0 and len(await charges(sandbox)) == 1


async def test_a_sale_sent_but_not_found_waits_for_attention_and_is_not_sent_again(sandbox, path, plan):
    """Nothing on the ledger now does not prove nothing will be: a create that timed out may still be
    processed. Only the agent, with the portal, decides to sell again."""
    lost = await sell(sandbox, path, plan, "drop_before_commit")
    assert lost.status is OrderStatus.UNKNOWN and "could not be found" in lost.needs_attention

    settled, records, creates = await next_start(sandbox, path)
    assert [o.id for o in settled] == [lost.id]
    assert records[lost.id].status is OrderStatus.UNKNOWN and "could not be found" in records[lost.id].needs_attention
    assert creates == 0 and await charges(sandbox) == []


async def test_an_intent_never_sent_is_sent_once_at_the_next_start_not_matched_to_someone_elses_order(sandbox, path, plan):
    """Killed after the intent was saved and before SENT: no request left, so no order can be the sale's.
    The next start sends it (its first send) instead of adopting an order of the same bundle."""

    async def confirm_then_die(app: App) -> Order:
        return await app.sales.open_sale(plan, None, "Customer")

    intent = await run_app(sandbox, path, confirm_then_die)
    portal = esimgo_adapter(sandbox)
    stranger = await portal.place_order(plan, "PORTAL")  # someone else's order, inside the intent's window
    await portal.aclose()

    settled, records, creates = await next_start(sandbox, path)
    order = records[intent.id]
    assert [o.id for o in settled] == [intent.id] and creates == 1
    assert order.status is OrderStatus.DELIVERED and order.provider_order_id != stranger.provider_order_id
    assert order.activation_code == await provider_code(sandbox, order.provider_order_id)
    assert sorted(c["order_id"] for c in await charges(sandbox)) == sorted([stranger.provider_order_id, order.provider_order_id])

    settled, _, creates = await next_start(sandbox, path)
    assert settled == [] and creates == 0


# ---------------------------------------------------------------- settled by the agent


async def by_hand(sandbox: Sandbox, path: Path, order: Order, choose) -> tuple[Order, list, int]:
    """The desk settles ``order``: ``choose(possible orders)`` picks one (or None); returns the settled
    record, what was offered, and how many creates were sent."""

    async def settle(app: App):
        offered = await app.sales.possible_orders(order)
        settled = await app.sales.settle_by_hand(order, choose(offered))
        return settled, offered, app.creates()

    return await run_app(sandbox, path, settle)


async def test_the_desk_picks_the_customers_order_among_two_and_its_code_is_kept(sandbox, path, plan):
    lost = await unsettled(sandbox, path, plan, "drop_after_commit")
    [ours] = await charges(sandbox)
    portal = esimgo_adapter(sandbox)
    await portal.place_order(plan, "PORTAL")
    await portal.aclose()
    await next_start(sandbox, path)  # two candidates: needs attention

    order, offered, creates = await by_hand(sandbox, path, lost, lambda offered: next(o for o in offered if o.provider_order_id == ours["order_id"]))
    assert len(offered) == 2 and creates == 0
    assert order.status is OrderStatus.DELIVERED and order.needs_attention is None
    assert order.provider_order_id == ours["order_id"]
    assert order.activation_code == await provider_code(sandbox, ours["order_id"])
    assert "SETTLED BY HAND" in [c.event for c in order.history]
    assert len(await charges(sandbox)) == 2  # nothing more charged

    # Settled once: a second decision on the same sale is refused.
    with pytest.raises(EsimTuiError, match="already settled"):
        await by_hand(sandbox, path, lost, lambda offered: None)


async def test_nothing_at_the_provider_closes_the_sale_as_not_placed_without_sending(sandbox, path, plan):
    lost = await sell(sandbox, path, plan, "drop_before_commit")
    assert lost.status is OrderStatus.UNKNOWN

    order, offered, creates = await by_hand(sandbox, path, lost, lambda offered: None)
    assert offered == [] and creates == 0 and await charges(sandbox) == []
    assert order.status is OrderStatus.FAILED and order.needs_attention is None
    assert "nothing was charged" in order.failure.reason
    settled, records, _ = await next_start(sandbox, path)
    assert settled == [] and records[lost.id].status is OrderStatus.FAILED  # not settled again at start


async def test_an_order_another_record_holds_cannot_be_chosen_by_hand(sandbox, path, plan):
    earlier = await sell(sandbox, path, plan)
    lost = await unsettled(sandbox, path, plan, "drop_before_commit")

    async def held(app: App) -> None:
        found = await app.adapter.get_order(earlier.provider_order_id)
        await app.sales.settle_by_hand(lost, found)

    with pytest.raises(EsimTuiError, match=earlier.client_reference):
        await run_app(sandbox, path, held)
    _, records, _ = await next_start(sandbox, path)
    assert records[lost.id].status is OrderStatus.UNKNOWN and records[earlier.id] == earlier


async def test_the_desk_sees_the_order_even_when_the_shop_clock_runs_ahead_of_the_providers(sandbox, path, plan):
    """The shop's clock is 20 minutes ahead: the order's time at eSIM Go is before the intent's, outside
    the automatic match (which allows a few minutes of skew). Choosing by hand looks further back."""
    ahead = timedelta(minutes=20)

    async def sale(app: App) -> Order:
        app.sales.now = lambda: sandbox.state.clock.now() + ahead
        return await app.sales.place(await app.sales.open_sale(plan, None, "Customer"))

    await esimgo_fault(sandbox, endpoint="create_order", kind="drop_after_commit")
    lost = await run_app(sandbox, path, sale)
    [charge] = await charges(sandbox)
    assert lost.status is OrderStatus.UNKNOWN and "could not be found" in lost.needs_attention  # the automatic match missed it

    order, offered, creates = await by_hand(sandbox, path, lost, lambda offered: offered[0])
    assert [o.provider_order_id for o in offered] == [charge["order_id"]] and creates == 0
    assert order.status is OrderStatus.DELIVERED and order.activation_code == await provider_code(sandbox, charge["order_id"])


async def test_looking_again_at_a_sale_that_needs_attention_adds_nothing_to_its_timeline(sandbox, path, plan):
    """The app looks an unsettled sale up at every start and poll: the timeline says so once, and again
    only when the facts change."""
    lost = await sell(sandbox, path, plan, "drop_before_commit")
    _, records, _ = await next_start(sandbox, path)
    before = records[lost.id].history
    for _ in range(2):
        _, records, _ = await next_start(sandbox, path)
    assert records[lost.id].history == before
    assert [c.event for c in before].count("OUTCOME UNKNOWN") == 1
