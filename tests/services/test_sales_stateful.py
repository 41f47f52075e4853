"""The sale's state machine driven through random answers and faults, for each provider (hypothesis, stateful).

Real parts only: Sales, a real OrderStore in a temporary folder, both adapters and the in-process
sandbox; one machine sells through Octopus Cards, one through eSIM Go. Faults come from the sandbox's fault book (resets, 500s, bad bodies, 429s, PENDING, FAILED) and
from the network between adapter and sandbox (``Net``): ConnectError, a read timeout whose order lands
later, the provider down, and the process dying (SIGKILL) at a point of the sale. After a death the
machine does what the app does at start: opens the store from disk, makes a new Sales and reconciles
before anything else.

After every step:

1. the sandbox ledger has at most one charge per confirmed sale and none for anything else; a record
   that names a provider order holds the order its own sale was charged for (never another sale's);
2. an activation code on file is the provider's code for that order and never changes;
3. no order is FAILED while its charge stands; PENDING and DELIVERED are charged; a sale whose outcome is
   still unknown is flagged "needs attention".

At the end, with the faults gone and time moved on, every sale is settled: delivered once with its
code on file, failed with nothing charged, or (eSIM Go, which has no idempotency key) left for the
agent's attention with nothing sent twice.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule
from pydantic import SecretStr

from esim_tui.domain.errors import InvalidClientReference, ProviderError
from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.domain.plans import Plan, ProviderName
from esim_tui.providers.esimgo import EsimGo
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from esim_tui.sandbox.faults import Fault, FaultKind
from esim_tui.sandbox.ledger import Charge
from esim_tui.services.ordering import Sales
from esim_tui.store.errors import StoreWriteFailed
from esim_tui.store.orders import OrderStore
from tests.conftest import make_sandbox

OCTOPUS, ESIMGO = ProviderName.OCTOPUS, ProviderName.ESIMGO
ESIMGO_PATH = "/v2.4"
#: Two plans per provider: sales of the same plan are what makes eSIM Go's matching hard.
PLAN_IDS = {OCTOPUS: ("5511", "5512"), ESIMGO: ("esim_1GB_7D_NL_V2", "esim_3GB_30D_NL_V2")}


class Killed(BaseException):
    """The process dies here (kill -9): nothing after this point of the sale runs. A BaseException, so
    no ``except Exception`` on the way can take it for a provider fault."""


async def no_wait(seconds: float) -> None:
    """The adapters' back-offs take no time (they would only make the test slower, not different)."""


def adapter(provider: ProviderName, transport: httpx.AsyncBaseTransport, key: str = "sandbox"):
    options = {"transport": transport, "sleep": no_wait, "deadline": 10.0, "rng": random.Random(0)}
    if provider is OCTOPUS:
        return OctopusCards(IN_PROCESS_URL, SecretStr(key), **options)
    return EsimGo(IN_PROCESS_URL + ESIMGO_PATH, SecretStr(key), **options)


_PLANS: dict[ProviderName, tuple[Plan, ...]] = {}


async def fetch_plans() -> dict[ProviderName, tuple[Plan, ...]]:
    """The sandbox's own plans (its catalogue is the same in every sandbox), fetched once."""
    if not _PLANS:
        sandbox = make_sandbox()
        for name, ids in PLAN_IDS.items():
            provider = adapter(name, sandbox_transport(sandbox))
            by_id = {p.plan_id: p for p in await provider.plans()}
            _PLANS[name] = tuple(by_id[i] for i in ids)
            await provider.aclose()
    return _PLANS


def plans() -> dict[ProviderName, tuple[Plan, ...]]:
    return _PLANS or asyncio.run(fetch_plans())


def is_create(request: httpx.Request) -> bool:
    """A request that may charge: Octopus Cards' order, eSIM Go's ``transaction`` (not a ``validate``)."""
    if request.method != "POST" or not request.url.path.endswith("/orders"):
        return False
    return ESIMGO_PATH not in request.url.path or b'"transaction"' in request.content


@dataclass
class Held:
    """A create that timed out unanswered and is still on its way: it reaches the provider later."""

    request: httpx.Request
    after: int  # lands just before this many more requests have gone by
    sale: str | None


class Net(httpx.AsyncBaseTransport):
    """The network between one provider's adapter and the sandbox, with the faults no endpoint can make.

    It outlives the app's process (a request in flight still lands after a kill), and it sees which
    sale sent each create, so every eSIM Go charge (which carries no reference of ours) is known to be
    the charge of exactly one sale, or of none (a create nobody confirmed).
    """

    def __init__(self, sandbox: Sandbox, provider: ProviderName) -> None:
        self.inner = sandbox_transport(sandbox)
        self.account = sandbox.providers[provider.value].account
        self.down = False  # every request: ConnectError (nothing sent)
        self.connect_errors = 0  # the next creates: ConnectError
        self.late: int | None = None  # the next create: read timeout, lands after that many requests
        self.kill: str | None = None  # the next create: "before_send" or "after_charge"
        self.held: list[Held] = []
        self.sale: str | None = None  # the sale the agent is placing, if any
        self.unplaced: Callable[[], str | None] = lambda: None  # else: the intent the app is sending itself
        self.senders: set[str] = set()  # sales whose create was tried (it may have left)
        self.owner: dict[str, str | None] = {}  # provider order id of each charge -> the sale that sent it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.land(due_only=True)
        creating = is_create(request)
        sale = (self.sale or self.unplaced()) if creating else None
        if sale is not None:
            self.senders.add(sale)  # Sales tried: from its records it cannot know whether this left
        if self.down:
            raise httpx.ConnectError("the provider is down", request=request)
        if not creating:
            return await self.inner.handle_async_request(request)
        if self.connect_errors:
            self.connect_errors -= 1
            raise httpx.ConnectError("connection refused", request=request)
        if self.kill == "before_send":
            self.kill = None
            raise Killed
        if self.late is not None:
            self.held.append(Held(request, self.late, sale))
            self.late = None
            raise httpx.ReadTimeout("no answer in time", request=request)
        response = await self._create(request, sale)
        if self.kill == "after_charge":
            self.kill = None
            raise Killed
        return response

    async def _create(self, request: httpx.Request, sale: str | None) -> httpx.Response:
        before = len(self.account.charges)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            for charge in self.account.charges[before:]:
                self.owner[charge.order_id] = sale

    async def land(self, *, due_only: bool = False) -> None:
        """Held creates reach the provider: those whose time has come, or all of them."""
        for held in list(self.held):
            held.after -= 1
            if held.after <= 0 or not due_only:
                self.held.remove(held)
                try:
                    await self._create(held.request, held.sale)
                except httpx.TransportError:
                    pass  # nobody waits for this answer any more

    async def aclose(self) -> None:
        """The adapter closing (or its process dying) does not take the network down."""


class FaultyStore:
    """The real store; from its ``at``-th save on (1: the intent), ``fault`` runs the save its way."""

    def __init__(self, store: OrderStore, at: int, fault: Callable[[Callable[[], None]], None]) -> None:
        self._store = store
        self._left = at
        self._fault = fault

    def save(self, order: Order) -> None:
        self._left -= 1
        if self._left > 0:
            self._store.save(order)
        else:
            self._fault(lambda: self._store.save(order))

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def killed(save: Callable[[], None]) -> None:
    raise Killed


def disk_full(save: Callable[[], None]) -> None:
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with mock.patch("os.fsync", full):
        save()


# ---------------------------------------------------------------- what the provider answers

RETRY_AFTER = st.sampled_from(["2", "Sun, 22 Nov 2026 09:00:03 GMT", "soon"])
# Each kind of outcome as likely as the others, whatever the number of ways to reach it.
ANSWERS = st.one_of(
    # answered: at once, after 429s (3 of them: given up, nothing sent), or PENDING then delivered or failed
    st.just(("normal",)),
    st.tuples(st.just("rate_limit"), RETRY_AFTER, st.integers(1, 3)),
    st.tuples(st.just("pending"), st.sampled_from([30, 600]), st.booleans()),
)
REFUSED = st.one_of(st.just(("fail",)), st.tuples(st.just("connect_error"), st.integers(1, 3)))  # 3: every attempt refused
CHARGED_UNANSWERED = st.one_of(
    st.sampled_from([("drop_after_commit",), ("error_500_after_commit",)]),  # reset, or a 500, after the charge
    st.tuples(st.just("malformed_json"), st.sampled_from(["truncated", "html", "invalid_utf8"])),  # a 200 we cannot read
    # Read timeout; the order lands after n more requests: at once, during the look-ups, or after them.
    st.tuples(st.just("late"), st.sampled_from([0, 3, 6, 12])),
)
UNCHARGED_UNANSWERED = st.one_of(st.just(("drop_before_commit",)), st.tuples(st.just("error_503"), st.sampled_from(["2", "garbage"])))
OUTCOMES = st.one_of(ANSWERS, REFUSED, CHARGED_UNANSWERED, UNCHARGED_UNANSWERED)
PLAN = st.sampled_from([0, 0, 0, 1])  # mostly the same plan: the hard case for matching


class SalesMachine(RuleBasedStateMachine):
    """Sales of one provider (``provider``) at a counter whose app knows both, as the real one does."""

    provider: ProviderName
    sales = Bundle("sales")

    def __init__(self) -> None:
        super().__init__()
        self.plans = plans()
        self.folder = Path(tempfile.mkdtemp(prefix="esim-sales-stateful-"))
        self.path = self.folder / "orders.json"
        self.sandbox = make_sandbox()
        self.clock = self.sandbox.state.clock
        self.runner = asyncio.Runner()
        self.nets = {name: Net(self.sandbox, name) for name in PLAN_IDS}
        self.nets[ESIMGO].unplaced = self._sent_by_the_app
        self.control = httpx.AsyncClient(transport=sandbox_transport(self.sandbox), base_url=IN_PROCESS_URL)
        self.checker = {name: adapter(name, sandbox_transport(self.sandbox)) for name in PLAN_IDS}  # no faults
        self.minted = 0
        self.references: dict[str, str] = {}  # client reference -> sale (order id)
        self.provider_of: dict[str, ProviderName] = {}
        self.first_code: dict[str, str] = {}
        self.provider_codes: dict[str, str] = {}  # provider order id -> the code the provider issued
        self.store = OrderStore.open(self.path, clock=self.now)
        self.app = self._start()

    # ------------------------------------------------------------ the app's process

    def now(self) -> datetime:
        return self.clock.now()

    async def _sleep(self, seconds: float) -> None:
        """Sales waiting lets simulated time pass (PENDING orders get ready meanwhile)."""
        self.clock.advance(seconds)

    def _mint(self, at: datetime, prefix: str) -> str:
        self.minted += 1
        return f"{prefix}-{self.minted:05d}"

    def _start(self, store=None) -> Sales:
        providers = {name: adapter(name, net) for name, net in self.nets.items()}
        return Sales(providers, store or self.store, now=self.now, sleep=self._sleep, mint=self._mint)

    def _sent_by_the_app(self) -> str | None:
        """The eSIM Go sale whose create leaves while no agent is placing one: an intent never sent,
        which the app sends at start. Its SENT is on file before the request leaves."""
        net = self.nets[ESIMGO]
        sent = [
            sale for sale, provider in self.provider_of.items()
            if provider is ESIMGO and sale not in net.senders and any(c.event == "SENT" for c in self.store.get(sale).history)
        ]
        return sent[0] if len(sent) == 1 else None

    def _close_app(self) -> None:
        for provider in self.app.providers.values():
            self.run(provider.aclose())

    def run(self, coro):
        return self.runner.run(coro)

    def _die_and_start_again(self) -> None:
        """kill -9, then the app's start: the store from disk, a new Sales, earlier sales settled first."""
        self._close_app()
        self.store.close()  # the lock dies with the process
        self.store = OrderStore.open(self.path, clock=self.now)
        self.app = self._start()
        self.run(self.app.reconcile())
        self.run(self.app.in_play())

    async def _fault(self, provider: ProviderName, kind: str, **params) -> None:
        body = {"provider": provider.value, "endpoint": "create_order", "kind": kind} | params
        response = await self.control.post("/_sandbox/faults", json=body)
        assert response.status_code == 200, response.text

    def _book(self, answer: tuple) -> None:
        provider = self.provider
        kind, *args = answer
        net = self.nets[provider]
        if kind == "normal":
            return
        if kind == "pending":
            seconds, fails = args
            extra = {"failure_code": "PLAN_UNAVAILABLE", "failure_reason": "No stock"} if fails else {}
            self.run(self._fault(provider, "pending", seconds=seconds, **extra))
        elif kind == "connect_error":
            net.connect_errors = args[0]
        elif kind == "late":
            net.late = args[0]
        elif kind == "error_503":
            self.run(self._fault(provider, kind, retry_after=args[0]))
        elif kind == "malformed_json":
            self.run(self._fault(provider, kind, body=args[0]))
        elif kind == "rate_limit":
            self.run(self._fault(provider, kind, retry_after=args[0], count=args[1]))
        else:
            self.run(self._fault(provider, kind))

    def _unbook(self) -> None:
        """A fault the sale did not use up is not left for the next one."""
        self.run(self.control.delete("/_sandbox/faults"))
        net = self.nets[self.provider]
        net.connect_errors, net.late, net.kill, net.sale = 0, None, None, None

    def _open(self, plan: int) -> Order:
        order = self.run(self.app.open_sale(self.plans[self.provider][plan], None, "Customer"))
        self.references[order.client_reference] = order.id
        self.provider_of[order.id] = self.provider
        self.nets[self.provider].sale = order.id
        return order

    # ------------------------------------------------------------ rules

    @rule(target=sales, plan=PLAN, answer=OUTCOMES, lookups_fail=st.booleans())
    def sell(self, plan: int, answer: tuple, lookups_fail: bool) -> str:
        """The agent confirms a sale and it is placed while the provider answers so (and, perhaps,
        cannot list its orders: every look-up during the sale meets a 503)."""
        order = self._open(plan)
        self._book(answer)
        if lookups_fail:
            self.run(self._fault(self.provider, "error_503", endpoint="list_orders", retry_after="1", count=50))
        try:
            self.run(self.app.place(order))
        finally:
            self._unbook()
        return order.id

    @rule(
        target=sales,
        plan=PLAN,
        answer=OUTCOMES,
        point=st.sampled_from(["intent", "before_send", "after_charge", "save 1", "save 2", "save 3"]),
    )
    def sell_and_die(self, plan: int, answer: tuple, point: str):
        """The process is killed at a point of the sale (at its nth save: 1 the intent, 2 "sent", 3 the
        answer), then started again."""
        if point.startswith("save"):
            self._close_app()
            self.app = self._start(FaultyStore(self.store, int(point.split()[1]), killed))
        order = None
        try:
            order = self._open(plan)
            if point != "intent":
                self._book(answer)
                if point in ("before_send", "after_charge"):
                    self.nets[self.provider].kill = point
                self.run(self.app.place(order))
        except Killed:
            pass
        finally:
            self._unbook()
        self._die_and_start_again()
        return order.id if order is not None else multiple()  # killed before the intent was saved: no sale

    @rule()
    def restart(self) -> None:
        """The app is killed between sales and started again."""
        self._die_and_start_again()

    @rule(down=st.booleans())
    def provider_down(self, down: bool) -> None:
        """The provider (or the shop's line to it) goes down, or comes back."""
        self.nets[self.provider].down = down

    @rule(sale=sales)
    def refresh(self, sale: str) -> None:
        """The desk asks about an order (or the follower's tick does)."""
        order = self.store.get(sale)
        try:
            self.run(self.app.refresh(order))
        except ProviderError:
            pass  # shown to the desk; nothing is recorded

    @rule(sale=sales)
    def follow(self, sale: str) -> None:
        """A PENDING order followed on its provider's schedule (time passes as it waits)."""
        self.run(self.app.follow_delivery(self.store.get(sale)))

    @rule(seconds=st.sampled_from([10, 120, 3600]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def late_orders_land(self) -> None:
        for net in self.nets.values():
            self.run(net.land())

    @rule(sale=sales)
    def customer_installs(self, sale: str) -> None:
        """The customer installs an eSIM whose code the shop has: the provider stops showing the code."""
        order = self.store.get(sale)
        if order.activation_code and order.iccid:
            response = self.run(self.control.post(f"/_sandbox/esims/{order.iccid}/install"))
            assert response.status_code == 200, response.text

    # ------------------------------------------------------------ invariants

    def _charges(self) -> dict[str, list[Charge]]:
        """Every charge on the ledger, by the sale that caused it; a charge of no sale fails here."""
        owned: dict[str, list[Charge]] = defaultdict(list)
        for name, net in self.nets.items():
            for charge in net.account.charges:
                if name is OCTOPUS:
                    sale = self.references.get(charge.client_reference or "")
                    assert sale is not None, f"Octopus Cards charged {charge.client_reference!r}, which no agent confirmed"
                    assert net.owner.get(charge.order_id, sale) in (sale, None)
                else:
                    sale = net.owner.get(charge.order_id)
                    assert sale is not None, f"eSIM Go charged order {charge.order_id}, sent by no sale (a blind retry)"
                owned[sale].append(charge)
        return owned

    def _provider_code(self, order: Order) -> str | None:
        """The code the provider issued for the order, remembered from before any install."""
        poid = order.provider_order_id
        if poid and poid not in self.provider_codes:
            answer = self.run(self.checker[order.provider].get_order(poid))
            if answer.activation_code:
                self.provider_codes[poid] = answer.activation_code
        return self.provider_codes.get(poid or "")

    def check(self) -> dict[str, Order]:
        owned = self._charges()
        records = {o.id: o for o in self.store.all()}
        for sale, provider in self.provider_of.items():
            order = records.get(sale)
            assert order is not None, f"sale {sale} is not on file"
            assert order.provider is provider
            paid = owned.get(sale, [])
            assert len(paid) <= 1, f"sale {sale} was charged {len(paid)} times"
            standing = bool(paid) and not paid[0].refunded
            if order.provider_order_id:
                assert paid and paid[0].order_id == order.provider_order_id, f"sale {sale} holds order {order.provider_order_id}, not its own"
            if order.status is OrderStatus.PENDING:
                assert paid, f"sale {sale} is PENDING but was never charged"  # the provider may have failed and refunded it since
            if order.status is OrderStatus.DELIVERED:
                assert standing, f"sale {sale} is DELIVERED but its charge does not stand"
            if order.status is OrderStatus.FAILED:
                assert not standing, f"sale {sale} is FAILED while the provider charged it"
            if order.status is OrderStatus.UNKNOWN:
                assert order.needs_attention, f"sale {sale} is unsettled and nobody is told"
                # Only a create that may have charged leaves a sale unsettled; an intent never sent is sent.
                assert sale in self.nets[provider].senders, f"sale {sale} was never sent, yet waits for attention"
            if order.activation_code:
                assert order.activation_code == self.first_code.setdefault(sale, order.activation_code), "the code on file changed"
                assert order.activation_code == self._provider_code(order), "the code on file is not the provider's"
            else:
                assert order.status is not OrderStatus.DELIVERED, f"sale {sale} is delivered without its code"
        return records

    @invariant()
    def the_ledger_and_the_store_agree(self) -> None:
        self.check()

    def teardown(self) -> None:
        try:
            self.settle_everything()
        finally:
            self._close_app()
            for provider in self.checker.values():
                self.run(provider.aclose())
            self.run(self.control.aclose())
            self.runner.close()
            self.store.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def settle_everything(self) -> None:
        """The faults end, late orders land, a day passes, the app starts again and asks about every
        order still in play: each sale ends delivered once with its code on file, or failed with
        nothing charged, or (eSIM Go only) waits for the agent's attention with nothing sent twice."""
        self.run(self.control.delete("/_sandbox/faults"))
        for net in self.nets.values():
            net.down = False
            self.run(net.land())
        self.clock.advance(timedelta(days=1).total_seconds())
        self._die_and_start_again()
        for order in self.run(self.app.in_play()):
            self.run(self.app.refresh(order))
        records = self.check()
        for sale, provider in self.provider_of.items():
            order = records[sale]
            settled = order.status in (OrderStatus.DELIVERED, OrderStatus.FAILED)  # check(): code on file, or no charge standing
            # Octopus Cards finds every order by its reference; eSIM Go may need a person to match it.
            assert settled or (provider is ESIMGO and order.status is OrderStatus.UNKNOWN), (
                f"{provider.value} sale {sale} is {order.status} after everything settled"
            )


class OctopusCardsSales(SalesMachine):
    provider = OCTOPUS


class EsimGoSales(SalesMachine):
    provider = ESIMGO


for machine in (OctopusCardsSales, EsimGoSales):
    machine.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=30,
        derandomize=True,  # the same sequences on every run and in CI
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
test_octopus_cards_sales = OctopusCardsSales.TestCase
test_esim_go_sales = EsimGoSales.TestCase


# ---------------------------------------------------------------- drills of the list, one sale each


async def one_sale(
    sandbox: Sandbox, path: Path, provider: ProviderName = OCTOPUS, *, reference: str | None = None, fault: str | None = None,
    key: str = "sandbox", store=lambda store: store,
) -> Order | Exception:
    """One sale through Sales, the adapter (with ``key``) and the order file at ``path``; the order, or
    the error the sale ended with. ``store`` wraps the store Sales is given."""
    plan = (await fetch_plans())[provider][0]
    if fault:
        sandbox.state.faults.add(Fault(provider.value, "create_order", FaultKind(fault)))
    client = adapter(provider, sandbox_transport(sandbox), key)
    try:
        with OrderStore.open(path) as opened:
            sales = Sales({provider: client}, store(opened), now=sandbox.state.clock.now, sleep=no_wait)
            try:
                return await sales.place(await sales.open_sale(plan, None, "Customer", client_reference=reference))
            except (InvalidClientReference, StoreWriteFailed) as exc:
                return exc
    finally:
        await client.aclose()


def charges(sandbox: Sandbox, provider: ProviderName = OCTOPUS) -> list[Charge]:
    return list(sandbox.providers[provider.value].account.charges)


def on_file(path: Path) -> list[Order]:
    with OrderStore.open(path, read_only=True) as reader:
        return list(reader.all())


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reference", ["x" * 256, "tab\there", "new\nline", "caf\u00e9", "del\x7f"], ids=["256-chars", "tab", "newline", "e-acute", "DEL"]
)
async def test_a_bad_client_reference_is_refused_before_anything_is_saved_or_sent(sandbox, tmp_path, reference):
    result = await one_sale(sandbox, tmp_path / "orders.json", reference=reference)
    assert isinstance(result, InvalidClientReference) and "client reference" in result.message
    assert charges(sandbox) == [] and on_file(tmp_path / "orders.json") == []


@pytest.mark.anyio
async def test_an_empty_client_reference_gets_a_fresh_one(sandbox, tmp_path):
    order = await one_sale(sandbox, tmp_path / "orders.json", reference="")
    assert order.client_reference.startswith("ESIM-") and order.status is OrderStatus.DELIVERED
    assert [c.client_reference for c in charges(sandbox)] == [order.client_reference]


@pytest.mark.anyio
async def test_a_reference_with_url_specials_is_found_again_after_a_reset_and_charged_once(sandbox, tmp_path):
    order = await one_sale(sandbox, tmp_path / "orders.json", reference="a+b&c#d", fault="drop_after_commit")
    assert order.status is OrderStatus.DELIVERED and "FOUND" in [c.event for c in order.history]
    assert [(c.client_reference, c.order_id) for c in charges(sandbox)] == [("a+b&c#d", order.provider_order_id)]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", [OCTOPUS, ESIMGO])
async def test_a_refused_key_fails_the_sale_as_not_placed_charging_nothing_and_keeping_no_key(sandbox, tmp_path, provider):
    """401 (Octopus Cards) or 403 (eSIM Go) on the create: a definite refusal, FAILED, never UNKNOWN."""
    order = await one_sale(sandbox, tmp_path / "orders.json", provider, key="wrong-secret-key-123")
    assert order.status is OrderStatus.FAILED and order.failure.code == "NOT_PLACED:AuthenticationFailed"
    assert order.needs_attention is None and charges(sandbox, provider) == []
    [saved] = on_file(tmp_path / "orders.json")
    assert saved == order and "wrong-secret-key-123" not in saved.model_dump_json()


@pytest.mark.anyio
@pytest.mark.parametrize("provider", [OCTOPUS, ESIMGO])
async def test_a_disk_full_after_the_charge_loses_no_sale_and_the_next_start_delivers_it_once(sandbox, tmp_path, provider):
    """The provider charged and answered with the code, and the order file cannot take it: the code is
    not shown (it is not on disk), the sale stays on file as sent, and once there is room again the
    next start finds the order: delivered with the provider's code, charged once."""
    path = tmp_path / "orders.json"
    result = await one_sale(sandbox, path, provider, store=lambda store: FaultyStore(store, 3, disk_full))  # intent, SENT, then full
    assert isinstance(result, StoreWriteFailed) and "No space left" in result.what
    [intent] = on_file(path)
    assert intent.status is OrderStatus.UNKNOWN and intent.activation_code is None
    assert [c.event for c in intent.history] == ["INTENT", "SENT"]
    [charge] = charges(sandbox, provider)

    client = adapter(provider, sandbox_transport(sandbox))
    try:
        with OrderStore.open(path) as store:
            [order] = await Sales({provider: client}, store, now=sandbox.state.clock.now, sleep=no_wait).reconcile()
        provider_code = (await client.get_order(charge.order_id)).activation_code
    finally:
        await client.aclose()
    assert order.id == intent.id and order.status is OrderStatus.DELIVERED and order.shown_at is None
    assert order.provider_order_id == charge.order_id and order.activation_code == provider_code
    assert len(charges(sandbox, provider)) == 1
