"""The timeline tells the truth, and states never go stale: what the desk reads of an order's life
after the sale (a receipt that failed after the charge, facts the provider repeats, the agent's own
actions, an eSIM past its validity, finished orders leaving "Orders in play")."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from esim_tui.config import load_settings
from esim_tui.domain.orders import (
    REFUNDED,
    ActivationStatus,
    BundleState,
    BundleUsage,
    EsimStatus,
    InstallState,
    OrderStatus,
    ProviderOrder,
)
from esim_tui.domain.plans import ProviderName
from esim_tui.services.following import stage as follow_stage
from esim_tui.services.ordering import CODE_COPIED, EXPORTED
from esim_tui.services.support import (
    OrderFilter,
    OrderFinder,
    describe,
    render_text,
    stage,
    summary,
    timeline,
)
from esim_tui.services.wording import order_state
from esim_tui.store.orders import OrderStore
from esim_tui.store.policy import shows_in_play
from esim_tui.ui.context import build_context
from tests.conftest import T0, make_sandbox
from tests.store_helpers import T, sold


class Clock:
    """The shop's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self):
        return self.at

    def tick(self, **delta) -> None:
        self.at += timedelta(**delta)


@asynccontextmanager
async def counter(tmp_path, clock):
    settings = load_settings(None, environ={}, db=tmp_path / "orders.json")
    with OrderStore.open(tmp_path / "orders-test.json", clock=clock) as store:
        ctx = build_context(settings, store=store, sandbox=make_sandbox(), now=clock, force_sandbox=True)
        try:
            yield ctx
        finally:
            await ctx.aclose()


async def japan(ctx, provider: ProviderName):
    offer = (await ctx.sales.load_catalogue()).catalogue.search("japan")[0]
    return next(p for p in offer.plans if p.provider is provider)


def events(order, linked=()):
    return [e.event for e in timeline(order, linked)]


# ---------------------------------------------------------------- the receipt e-mail, after the charge


@pytest.mark.anyio
async def test_a_receipt_e_mail_that_fails_after_the_charge_never_reads_nothing_was_charged(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        plan = await japan(ctx, ProviderName.OCTOPUS)  # Octopus Cards e-mails the receipt; it refuses this address
        order = await ctx.sales.place(await ctx.sales.open_sale(plan, None, "Ana Silva", "not an address"))
        linked = await ctx.sales.linked(order)
    assert order.status is OrderStatus.DELIVERED
    entries = timeline(order)
    said = [e for e in entries if e.event == "Receipt e-mail failed"]
    assert len(said) == 1
    assert "nothing was charged" not in said[0].detail.lower()
    assert "went through" in said[0].detail and "codes on screen" in said[0].detail
    # Charged first, then the receipt that failed: the order of what happened.
    names = [e.event for e in entries]
    assert names.index("Charged") < names.index("Receipt e-mail failed")
    assert "nothing was charged" not in render_text(order, linked).lower()


# ---------------------------------------------------------------- once each, in time order


@pytest.mark.anyio
async def test_facts_the_provider_repeats_at_every_poll_appear_once_in_time_order(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        sales = ctx.sales
        order = await sales.place(await sales.open_sale(await japan(ctx, ProviderName.ESIMGO), None, "Ana Silva"))
        order = await sales.mark_shown(order)
        clock.tick(minutes=5)
        await ctx.training.install(order.iccid)
        for _ in range(3):  # the follower asks again and again; the provider says the same
            clock.tick(minutes=1)
            order = await sales.refresh(order)
        clock.tick(minutes=5)
        await ctx.training.use_data(order.iccid, 100_000_000)
        for _ in range(3):
            clock.tick(minutes=1)
            order = await sales.refresh(order)
    entries = timeline(order)
    names = [e.event for e in entries]
    assert names.count("Installed") == 1 and names.count("Bundle in use (first use)") == 1
    assert len(entries) == len(set(entries))
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def _two_of_one_bundle(first: BundleState, second: BundleState) -> EsimStatus:
    """An eSIM holding the same bundle twice (a sale and its top-up of the same bundle)."""
    return EsimStatus(bundles=(
        BundleUsage(bundle_name="esim_1GB_7D_JP_V2", state=first, assignment_id="a1", assignment_reference="o1-1"),
        BundleUsage(bundle_name="esim_1GB_7D_JP_V2", state=second, assignment_id="a2", assignment_reference="o2-1"),
    ))


def test_two_bundles_of_one_name_are_noted_once_each_however_often_they_are_reported():
    order = sold("ESIM-20261122-TWIN0001", "8944000000000000001")
    for minute in range(4):
        order = order.merge_esim(_two_of_one_bundle(BundleState.ACTIVE, BundleState.QUEUED), T + timedelta(minutes=minute))
    noted = [(c.event, c.at) for c in order.history if c.event.startswith("bundle")]
    assert noted == [("bundle active", T), ("bundle queued", T)]


def test_a_different_iccid_or_code_is_noted_once_however_often_the_provider_repeats_it():
    order = sold("ESIM-20261122-ODD00001", "8944000000000000001")
    odd = ProviderOrder(provider=ProviderName.OCTOPUS, provider_order_id=order.provider_order_id, status=OrderStatus.DELIVERED,
                        iccid="8944000000000000099", activation_code="LPA:1$rsp.example.com$OTHER001")
    for minute in range(3):
        order = order.merge(odd, T + timedelta(minutes=minute))
    assert [c.event for c in order.history].count("ICCID MISMATCH") == 1
    assert [c.event for c in order.history].count("ACTIVATION CODE DIFFERS") == 1
    assert order.activation_code == "LPA:1$rsp.example.com$ODD00001"  # the first code is kept


def test_a_blip_in_what_the_provider_reports_does_not_tell_the_install_twice():
    order = sold("ESIM-20261122-BLIP0001", "8944000000000000001")
    for minute, state in enumerate([InstallState.INSTALLED, InstallState.DOWNLOADED, InstallState.INSTALLED]):
        order = order.merge_esim(EsimStatus(install_state=state, installed_at=T + timedelta(minutes=1)), T + timedelta(minutes=minute + 1))
    assert events(order).count("Installed") == 1


# ---------------------------------------------------------------- the agent's actions


@pytest.mark.anyio
async def test_each_showing_copy_and_export_is_an_event_with_its_time(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        sales = ctx.sales
        order = await sales.place(await sales.open_sale(await japan(ctx, ProviderName.OCTOPUS), None, "Ana Silva"))
        stale = order  # a screen's copy, read before any of the notes below
        for minutes, act in [(1, "show"), (2, "copy"), (3, "copy"), (4, "show"), (5, "export")]:
            clock.at = T0 + timedelta(minutes=minutes)
            if act == "show":
                await sales.mark_shown(stale)
            elif act == "copy":
                await sales.note(stale, CODE_COPIED)
            else:
                await sales.note(stale, EXPORTED, "3 files in /tmp/ana")
        order = await sales.order(order.id)
    agent = [(e.at - T0, e.event, e.detail) for e in timeline(order) if e.at > T0]
    assert agent == [
        (timedelta(minutes=1), "Activation code shown", ""),
        (timedelta(minutes=2), "Activation code copied", ""),
        (timedelta(minutes=3), "Activation code copied", ""),
        (timedelta(minutes=4), "Activation code shown again", ""),
        (timedelta(minutes=5), "QR and install links exported", "3 files in /tmp/ana"),
    ]
    assert order.shown_at == T0 + timedelta(minutes=1)  # the first showing


@pytest.mark.anyio
async def test_a_poll_saving_an_older_copy_keeps_the_agents_events(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        sales = ctx.sales
        order = await sales.place(await sales.open_sale(await japan(ctx, ProviderName.ESIMGO), None, "Ana Silva"))
        clock.tick(minutes=1)
        await sales.note(order, CODE_COPIED)  # meanwhile, a poll still holds ``order``
        await ctx.training.install(order.iccid)
        clock.tick(minutes=1)
        polled = await sales._take_esim(order, await sales.provider(order.provider).esim_status(order))
        on_file = await sales.order(order.id)
    assert "Activation code copied" in events(on_file) and "Installed" in events(on_file)
    assert polled.history == on_file.history


@pytest.mark.anyio
async def test_showing_a_spent_code_notes_nothing(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        sales = ctx.sales
        order = await sales.mark_shown(await sales.place(await sales.open_sale(await japan(ctx, ProviderName.ESIMGO), None, "Ana")))
        await ctx.training.install(order.iccid)
        order = await sales.refresh(order)
        clock.tick(minutes=1)
        again = await sales.mark_shown(order)
    assert again.history == order.history and "Activation code shown again" not in events(again)


@pytest.mark.anyio
async def test_a_refund_looked_into_is_noted_with_the_providers_answer(tmp_path):
    clock = Clock()
    async with counter(tmp_path, clock) as ctx:
        sales = ctx.sales
        order = await sales.place(await sales.open_sale(await japan(ctx, ProviderName.ESIMGO), None, "Ana"))
        order = await sales.refresh(order)
        clock.tick(minutes=1)
        check = await sales.check_refund(order, order.bundles[0])
        order = await sales.order(order.id)
    assert check.refundable
    (looked,) = [e for e in timeline(order) if e.event == "Refund looked into"]
    assert looked.detail == f"{order.bundles[0].bundle_name}: {check.amount} would be refunded"


# ---------------------------------------------------------------- past its validity


def _out_of_data(**changes):
    bundle = BundleUsage(bundle_name="a", state=BundleState.DEPLETED, initial_bytes=10**9, remaining_bytes=0)
    return sold("ESIM-20261122-DRY00001", "8944000000000000001", install_state=InstallState.INSTALLED, installed_at=T,
                activation_status=ActivationStatus.ACTIVE, bundles=(bundle,), expires_at=T + timedelta(days=7), **changes)


def test_an_esim_past_its_validity_reads_expired_even_if_its_bundle_says_out_of_data():
    order = _out_of_data()
    within, after = T + timedelta(days=6), T + timedelta(days=7, minutes=1)
    assert (order_state(order, within), stage(order, within)) == ("Out of data", OrderFilter.OUT_OF_DATA)
    assert (order_state(order, after), stage(order, after)) == ("Expired", OrderFilter.EXPIRED)
    assert (summary(order, after).state, describe(order, now=after)["state"]) == ("Expired", "Expired")
    in_use = order.model_copy(update={"bundles": (BundleUsage(bundle_name="a", state=BundleState.ACTIVE),)})
    assert follow_stage(in_use, within) == "usage" and follow_stage(in_use, after) is None  # nothing more to ask
    # A flag still comes first; a refund still reads as such.
    assert order_state(order.model_copy(update={"needs_attention": "Check it."}), after) == "Needs attention"


def test_the_finder_from_the_stores_summaries_reads_past_validity_as_the_records_do(tmp_path):
    after = T + timedelta(days=8)
    orders = [
        _out_of_data(),
        sold("ESIM-20261122-NEW00002", "8944000000000000002", expires_at=T + timedelta(days=30)),
        sold("ESIM-20261122-OLD00003", "8944000000000000003", expires_at=(T + timedelta(days=1)).replace(tzinfo=None)),
        sold("ESIM-20261122-FLAG0004", "8944000000000000004", expires_at=T, needs_attention="Check it."),
    ]
    with OrderStore.open(tmp_path / "orders.json", clock=lambda: T) as store:
        for order in orders:
            store.save(order)
        OrderFinder.load(store)  # the summaries written at T, when none had run out
        loaded = OrderFinder.load(store, after)
    full = OrderFinder.from_orders(orders, after)
    assert list(loaded) == list(full)
    assert {r.client_reference: (r.state, r.stage) for r in loaded} == {
        "ESIM-20261122-DRY00001": ("Expired", OrderFilter.EXPIRED),
        "ESIM-20261122-NEW00002": ("Delivered, not installed", OrderFilter.DELIVERED),
        "ESIM-20261122-OLD00003": ("Expired", OrderFilter.EXPIRED),
        "ESIM-20261122-FLAG0004": ("Needs attention", OrderFilter.EXPIRED),
    }
    assert [r.client_reference for r in loaded.search("", OrderFilter.OUT_OF_DATA)] == []
    assert len(loaded.search("", OrderFilter.EXPIRED)) == 3


# ---------------------------------------------------------------- leaving "Orders in play"


def test_expired_and_refunded_orders_leave_orders_in_play_after_the_configured_while():
    day = timedelta(hours=24)
    refunded = sold("ESIM-20261122-BACK0001", "8944000000000000001")
    refunded.note(T + timedelta(hours=1), REFUNDED, "esim_1GB: 4.00 USD")
    expired = _out_of_data()  # its validity ends at T + 7 days
    told = sold("ESIM-20261122-GONE0003", "8944000000000000003", activation_status=ActivationStatus.EXPIRED)
    told.note(T + timedelta(hours=2), "EXPIRED")
    live = sold("ESIM-20261122-LIVE0004", "8944000000000000004", expires_at=T + timedelta(days=30))

    assert shows_in_play(refunded, T + timedelta(hours=24, minutes=59), day)
    assert not shows_in_play(refunded, T + timedelta(hours=25), day)
    assert shows_in_play(expired, T + timedelta(days=7, hours=23), day)
    assert not shows_in_play(expired, T + timedelta(days=8), day)
    assert shows_in_play(told, T + timedelta(hours=25), day) and not shows_in_play(told, T + timedelta(hours=26), day)
    assert shows_in_play(live, T + timedelta(days=29), day)
    assert not shows_in_play(refunded, T + timedelta(hours=3), timedelta(hours=2))  # the shop's own while


def test_the_while_is_a_setting_of_a_day_by_default(tmp_path):
    assert load_settings(None, environ={}).ui.keep_finished_hours == 24
    config = tmp_path / "config.toml"
    config.write_text("[ui]\nkeep_finished_hours = 2\n")
    assert load_settings(config, environ={}).ui.keep_finished_hours == 2
