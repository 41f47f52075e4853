"""The order store driven through random sequences of what the app does (hypothesis, stateful).

Rules: new sales are saved; provider answers are merged in (with or without an activation code, with a
different code, installed or not, failed); stale copies of an order are saved; time passes; settled
orders are archived; the store is closed and opened again. After every step:

- the store holds exactly the model's orders, and each lookup (id, client reference, ICCID, provider
  order id) finds the one it should;
- an activation code, once stored, is never lost or replaced, whatever was saved afterwards;
- every order still in play is in the active file's list (``in_play``).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from esim_tui.domain.orders import EsimStatus, InstallState, Order, OrderStatus, ProviderOrder
from esim_tui.domain.plans import ProviderName
from esim_tui.store.errors import ActivationCodeKept
from esim_tui.store.orders import OrderStore
from esim_tui.store.policy import is_settled
from tests.store import T0, make_order


def code(n: int, variant: str) -> str:
    return f"LPA:1$smdp.example.com$M{n:06d}-{variant}"


def iccid(n: int) -> str:
    return f"89440000{n:011d}"


class StoreMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="esim-stateful-"))
        self.path = self.folder / "orders.json"
        self.now = T0
        self.store = self._open()
        self.model: dict[str, Order] = {}
        self.first_code: dict[str, str] = {}  # the first activation code each order was saved with
        self.made = 0

    def _open(self) -> OrderStore:
        # Three orders per archive segment: moves open new segments often.
        return OrderStore.open(self.path, clock=lambda: self.now, segment_capacity=3)

    def _save(self, order: Order) -> None:
        self.store.save(order)
        self.model[order.id] = order
        if order.activation_code:
            self.first_code.setdefault(order.id, order.activation_code)

    # ------------------------------------------------------------ rules

    @initialize(target=orders, with_code=st.booleans(), age_days=st.sampled_from([0, 1, 450]))
    def first_sale(self, with_code: bool, age_days: int) -> str:
        return self.sell(with_code, age_days)

    @rule(target=orders, with_code=st.booleans(), age_days=st.sampled_from([0, 1, 450]))
    def sell(self, with_code: bool, age_days: int) -> str:
        """A new sale: an intent (no code yet) or an order delivered at once."""
        self.made += 1
        n = self.made
        created = self.now - timedelta(days=age_days)
        if with_code:
            order = make_order(n, created_at=created, activation_code=code(n, "A"), iccid=iccid(n))
        else:
            order = make_order(
                n, created_at=created, status=OrderStatus.UNKNOWN, activation_code=None, iccid=None,
                provider_order_id=None, install_state=None, activation_status=None, bundles=(),
            )
        self._save(order)
        return order.id

    @rule(
        oid=orders,
        status=st.sampled_from([OrderStatus.PENDING, OrderStatus.DELIVERED, OrderStatus.FAILED]),
        with_code=st.sampled_from([None, "A", "B"]),
        installed=st.booleans(),
    )
    def provider_answers(self, oid: str, status: OrderStatus, with_code: str | None, installed: bool) -> None:
        """The provider's answer merged in, as Sales.adopt does: a code, none, or a different one."""
        order = self.model[oid]
        n = int(oid.rsplit("-", 1)[1])
        esim = None
        if status is OrderStatus.DELIVERED:
            esim = EsimStatus(
                iccid=iccid(n),
                install_state=InstallState.INSTALLED if installed else InstallState.NOT_INSTALLED,
                installed_at=self.now if installed else None,
                activation_code=None if installed else (code(n, with_code) if with_code else None),
            )
        answer = ProviderOrder(
            provider=ProviderName.OCTOPUS,
            provider_order_id=order.provider_order_id or f"oc-{n:010d}",
            client_reference=order.client_reference,
            status=status,
            iccid=iccid(n) if status is OrderStatus.DELIVERED else None,
            activation_code=code(n, with_code) if with_code else None,
            esim=esim,
        )
        self._save(order.merge(answer, self.now))

    @rule(oid=orders, drop=st.booleans())
    def stale_copy(self, oid: str, drop: bool) -> None:
        """Someone saves an old copy of the order: without the code, or with another one."""
        order = self.model[oid]
        n = int(oid.rsplit("-", 1)[1])
        other = None if drop else code(n, "STALE")
        stale = order.model_copy(update={"activation_code": other, "customer_label": "stale copy"})
        if order.activation_code:
            try:
                self.store.save(stale)
            except ActivationCodeKept as exc:
                assert order.activation_code not in str(exc)  # the error never carries the code
            else:
                raise AssertionError("a save that drops or replaces a stored code went through")
        else:
            self._save(stale.model_copy(update={"activation_code": None}))  # no code on file: just a label

    @rule(oid=orders, note=st.text(alphabet="abc é東", max_size=8))
    def agent_notes(self, oid: str, note: str) -> None:
        """A change that is not the provider's (a label): saved from the latest copy."""
        self._save(self.model[oid].model_copy(update={"customer_label": note}))

    @rule(days=st.sampled_from([1, 3, 400]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def archive_settled(self) -> None:
        self.store.archive_settled()

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = self._open()

    @precondition(lambda self: len(self.model) >= 2)
    @rule()
    def read_only_view(self) -> None:
        """``esim-tui orders`` while the app runs sees what the app saved."""
        with OrderStore.open(self.path, read_only=True) as reader:
            assert {o.id: o for o in reader.all()} == self.model

    # ------------------------------------------------------------ invariants

    @invariant()
    def holds_exactly_the_models_orders(self) -> None:
        stored = {o.id: o for o in self.store.all()}
        assert stored == self.model
        assert self.store.count() == len(self.model)

    @invariant()
    def lookups_find_each_order(self) -> None:
        for oid, order in self.model.items():
            assert self.store.get(oid) == order
            assert self.store.by_client_reference(order.client_reference).id == oid
            if order.iccid:
                assert [o.id for o in self.store.by_iccid(order.iccid)] == [oid]
            if order.provider_order_id:
                assert self.store.by_provider_order_id(order.provider_order_id).id == oid

    @invariant()
    def a_stored_code_is_never_lost_or_replaced(self) -> None:
        for oid, first in self.first_code.items():
            assert self.store.get(oid).activation_code == first

    @invariant()
    def orders_in_play_are_on_the_active_list(self) -> None:
        in_play = {o.id for o in self.store.in_play()}
        unsettled = {oid for oid, o in self.model.items() if not is_settled(o, self.now)}
        assert unsettled <= in_play <= self.model.keys()

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


StoreMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    derandomize=True,  # the same sequences on every run and in CI
    database=None,
    deadline=None,  # fsync times vary with the machine
    suppress_health_check=[HealthCheck.too_slow],
)
test_order_store_state_machine = StoreMachine.TestCase
