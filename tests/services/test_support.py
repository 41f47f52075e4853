"""The support desk's core: finding any order as the desk types, the status filters, and an order's life."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esim_tui.config import load_settings
from esim_tui.domain.destinations import country
from esim_tui.domain.money import Money
from esim_tui.domain.orders import (
    ActivationStatus,
    BundleState,
    BundleUsage,
    InstallState,
    OrderKind,
    OrderStatus,
)
from esim_tui.domain.plans import ProviderName
from esim_tui.services import support
from esim_tui.services.support import (
    OrderFilter,
    OrderFinder,
    describe,
    filters_of,
    linked_orders,
    render_text,
    stage,
    timeline,
)
from esim_tui.services.wording import data_left, order_state
from esim_tui.store.orders import OrderStore
from esim_tui.ui.context import build_context
from tests.conftest import T0, make_sandbox
from tests.store_helpers import T, order_for, sample_plan, sold

F = OrderFilter
FRANCE = sample_plan(plan_id="fr-3", name="Paris Explorer 3 GB", destination=country("FR"), coverage=("FR",))


def desk_orders():
    """A few sales as a desk sees them, oldest first."""
    return [
        sold("ESIM-20261120-ANA00001", "8944158813998698796", customer_label="Ana Silva", customer_email="ana.silva@example.com",
             created_at=T - timedelta(days=2)),
        # "8796" inside its ICCID and provider order id, but not at the ICCID's end; newer than Ana's.
        sold("ESIM-20261121-BOLI0002", "8944000087960000011", customer_label="Bo Müller", provider_order_id="oc-87960",
             created_at=T - timedelta(days=1)),
        sold("ESIM-20261122-CHEN0003", "8944222200003333444", customer_label="Ana Chen", plan=FRANCE, created_at=T),
        order_for(sample_plan(), "ESIM-20261122-FAIL0004", customer_label="Dee Failed", status=OrderStatus.FAILED,
                  created_at=T + timedelta(hours=1)),
    ]


def ids(rows):
    return [r.id for r in rows]


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, F.DELIVERED),
        ({"status": OrderStatus.PENDING}, F.PENDING),
        ({"status": OrderStatus.UNKNOWN}, F.PENDING),
        ({"install_state": InstallState.INSTALLED}, F.INSTALLED),
        ({"install_state": InstallState.REMOVED}, F.INSTALLED),
        ({"install_state": InstallState.INSTALLED, "bundles": (BundleUsage(bundle_name="b", state=BundleState.QUEUED),)}, F.INSTALLED),
        ({"install_state": InstallState.INSTALLED, "bundles": (BundleUsage(bundle_name="b", state=BundleState.ACTIVE),)}, F.ACTIVE),
        ({"activation_status": ActivationStatus.ACTIVE}, F.ACTIVE),
        ({"activation_status": ActivationStatus.ACTIVE, "bundles": (BundleUsage(bundle_name="b", state=BundleState.DEPLETED),)}, F.OUT_OF_DATA),
        # Out of data on the first bundle, a top-up in use: active.
        ({"bundles": (BundleUsage(bundle_name="a", state=BundleState.DEPLETED), BundleUsage(bundle_name="b", state=BundleState.ACTIVE))}, F.ACTIVE),
        ({"activation_status": ActivationStatus.EXPIRED}, F.EXPIRED),
        ({"bundles": (BundleUsage(bundle_name="a", state=BundleState.EXPIRED),)}, F.EXPIRED),
        ({"bundles": (BundleUsage(bundle_name="a", state=BundleState.LAPSED),)}, F.EXPIRED),
        # Ended, but a top-up waits for first use: not expired.
        ({"install_state": InstallState.INSTALLED, "bundles": (BundleUsage(bundle_name="a", state=BundleState.EXPIRED), BundleUsage(bundle_name="b", state=BundleState.QUEUED))}, F.INSTALLED),
        ({"status": OrderStatus.FAILED}, F.FAILED),
        ({"status": OrderStatus.CANCELLED}, F.FAILED),
    ],
)
def test_every_order_is_in_exactly_one_stage(changes, expected):
    order = sold("ESIM-1", "8944158813998698796").model_copy(update=changes)
    assert stage(order) is expected
    assert filters_of(order) == {F.ALL, expected}


def test_needs_attention_is_on_top_of_the_stage():
    order = sold("ESIM-1", "8944158813998698796", needs_attention="The provider now reports another ICCID.")
    assert filters_of(order) == {F.ALL, F.DELIVERED, F.NEEDS_ATTENTION}


# ---------------------------------------------------------------- finding


def test_the_last_four_digits_find_the_esim_first_even_among_newer_matches():
    finder = OrderFinder.from_orders(desk_orders())
    assert ids(finder.search("8796")) == ["esim-20261120-ana00001", "esim-20261121-boli0002"]
    assert ids(finder.search("8698796")) == ["esim-20261120-ana00001"]
    assert ids(finder.search("8944 1588 1399 8698 796")) == ["esim-20261120-ana00001"]  # as read over the phone


def test_every_word_must_match_and_the_newest_comes_first():
    finder = OrderFinder.from_orders(desk_orders())
    assert ids(finder.search("ana")) == ["esim-20261122-chen0003", "esim-20261120-ana00001"]
    assert ids(finder.search("ANA japan")) == ["esim-20261120-ana00001"]
    assert ids(finder.search("ana france")) == ["esim-20261122-chen0003"]
    assert ids(finder.search("ana nowhere")) == []
    assert ids(finder.search("")) == [
        "esim-20261122-fail0004", "esim-20261122-chen0003", "esim-20261121-boli0002", "esim-20261120-ana00001"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("boli0002", "esim-20261121-boli0002"),  # client reference
        ("ana.silva@example", "esim-20261120-ana00001"),  # e-mail
        ("oc-87960", "esim-20261121-boli0002"),  # provider order id
        ("muller", "esim-20261121-boli0002"),  # customer label, accents folded
        ("MÜLLER", "esim-20261121-boli0002"),
        ("fra", "esim-20261122-chen0003"),  # destination name, alpha-3 code
        ("explorer", "esim-20261122-chen0003"),  # plan name
        ("2026-11-21", "esim-20261121-boli0002"),  # the day it was sold
        ("8944222200003333444", "esim-20261122-chen0003"),  # the full ICCID
    ],
)
def test_each_field_the_desk_asks_about_finds_the_order(query, expected):
    assert ids(OrderFinder.from_orders(desk_orders()).search(query)) == [expected]


def test_status_filter_and_limit():
    finder = OrderFinder.from_orders(desk_orders())
    assert ids(finder.search("", F.FAILED)) == ["esim-20261122-fail0004"]
    assert ids(finder.search("ana", F.DELIVERED, limit=1)) == ["esim-20261122-chen0003"]
    assert finder.search("dee", F.DELIVERED) == []
    assert finder.search("", "pending") == []


def test_the_activation_code_is_never_searched_nor_in_a_row():
    orders = desk_orders()
    finder = OrderFinder.from_orders(orders)
    assert finder.search("rsp.example.com") == [] and finder.search("ANA00001".lower() + "x") == []
    for row in finder:
        assert "LPA:" not in json.dumps(row.as_json(), ensure_ascii=False)


def test_update_takes_in_new_and_changed_orders_without_rebuilding():
    orders = desk_orders()
    finder = OrderFinder.from_orders(orders)
    for typed in ("a", "an", "ana", "ana ", "ana s", "ana si"):  # answers kept while typing
        finder.search(typed)
    bo = orders[1].model_copy(update={"customer_label": "Ana Bo Silveira"})
    finder.update(bo)
    assert ids(finder.search("ana sil")) == ["esim-20261121-boli0002", "esim-20261120-ana00001"]
    assert finder.search("muller") == []
    assert finder.get(bo.id).customer == "Ana Bo Silveira"

    installed = orders[0].model_copy(update={"install_state": InstallState.INSTALLED})
    finder.update(installed)
    assert ids(finder.search("ana", F.INSTALLED)) == ["esim-20261120-ana00001"]
    assert ids(finder.search("ana", F.DELIVERED)) == ["esim-20261122-chen0003", "esim-20261121-boli0002"]

    new = sold("ESIM-20261123-NEW00005", "8944555500006666777", customer_label="Ana New", created_at=T + timedelta(days=1))
    finder.update(new)
    assert len(finder) == 5
    assert ids(finder.search("ana"))[0] == "esim-20261123-new00005"
    older = sold("ESIM-20261101-OLD00006", "8944555500006666888", created_at=T - timedelta(days=30))
    finder.update(older)
    assert ids(finder.search(""))[-1] == "esim-20261101-old00006"


# Fragments of the orders' fields, so that random queries match some orders and not others.
_FRAGMENTS = ["ana", "a", "n", "silva", "s", "muller", "mül", "8796", "87", "2026-11", "japan", "fr", "days", "0002", "oc-", "@", "x", ""]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.lists(st.sampled_from(_FRAGMENTS), max_size=3), st.sampled_from(list(F)), st.integers(0, 6)),
        min_size=1,
        max_size=12,
    )
)
def test_typing_gives_the_same_answers_as_searching_afresh(steps):
    """The answers kept from earlier keystrokes never change an answer, through typing, Backspace,
    filter changes and updates."""
    orders = {o.id: o for o in desk_orders()}
    finder = OrderFinder.from_orders(orders.values())
    for words, filter, change in steps:
        query = " ".join(words)
        typed = [query[:i] for i in range(1, len(query) + 1)]  # one key at a time...
        for text in typed + typed[-2::-1]:  # ...then Backspace back to the first key
            assert ids(finder.search(text, filter)) == ids(OrderFinder.from_orders(orders.values()).search(text, filter))
        if change == 1:
            first = next(iter(orders.values()))
            orders[first.id] = first.model_copy(update={"customer_label": first.customer_label + " Silva", "install_state": InstallState.INSTALLED})
            finder.update(orders[first.id])
        elif change == 2:
            new = sold(f"ESIM-20261124-NEW{len(orders):05d}", f"89440000{len(orders):011d}", customer_label="Ana Müller",
                       created_at=T + timedelta(days=len(orders)))
            orders[new.id] = new
            finder.update(new)


def test_a_row_holds_what_the_orders_screen_shows():
    from esim_tui.domain import formats

    row = OrderFinder.from_orders(desk_orders()).get("esim-20261120-ana00001")
    try:
        # The sold date shows its year only when the sale was not this year (by the records' clock).
        formats.use_locale("en", clock=lambda: T0)
        assert row.cells == ("20 Nov", "Ana Silva", "Japan", "1 GB / 7 days", "Delivered, not installed", "…8796", "Octopus Cards")
        formats.use_locale("en", clock=lambda: T0.replace(year=2027))
        assert row.cells[0] == "20 Nov 2026"
    finally:
        formats.use_locale("en", clock=lambda: datetime.now(UTC))
    assert [f.label for f in OrderFilter] == [
        "All", "Pending", "Delivered", "Installed", "Active", "Out of data", "Expired", "Refunded", "Failed", "Needs attention"
    ]


def test_load_reads_orders_in_play_and_archived(tmp_path):
    with OrderStore.open(tmp_path / "orders.json", clock=lambda: T) as store:
        for order in desk_orders():
            store.save(order)  # the failed one goes to the archive
        finder = OrderFinder.load(store)
    assert len(finder) == 4
    assert ids(finder.search("dee")) == ["esim-20261122-fail0004"]
    assert finder.get("esim-20261121-boli0002").state == "Delivered, not installed"


# ---------------------------------------------------------------- the finder from the store's summaries

LATER = T + timedelta(days=500)  # every delivered sale below has settled into the archive by then


def varied_orders():
    """Orders in every stage and with what a summary must carry exactly: odd prices, accents, no label,
    no ICCID, a naive end time, a flag, a top-up, both providers."""
    orders = desk_orders()
    changes = [
        {"status": OrderStatus.PENDING, "customer_label": "Zoë Côté"},
        {"status": OrderStatus.UNKNOWN, "iccid": None, "customer_label": ""},
        {"install_state": InstallState.INSTALLED, "installed_at": T, "price": Money(amount=Decimal("4.275"), currency="EUR")},
        {"install_state": InstallState.REMOVED, "customer_label": "", "expires_at": T.replace(tzinfo=None)},
        {"activation_status": ActivationStatus.ACTIVE, "bundles": (BundleUsage(bundle_name="a", state=BundleState.ACTIVE, initial_bytes=10**9, remaining_bytes=25 * 10**7),)},
        {"bundles": (BundleUsage(bundle_name="a", state=BundleState.DEPLETED, initial_bytes=10**9, remaining_bytes=0),), "expires_at": T},
        {"activation_status": ActivationStatus.EXPIRED, "customer_email": "ÉLODIE@example.com"},
        {"bundles": (BundleUsage(bundle_name="u", state=BundleState.LAPSED, unlimited=True),)},
        {"status": OrderStatus.CANCELLED, "provider": ProviderName.ESIMGO, "plan": sample_plan(provider=ProviderName.ESIMGO, plan_id="esim_1GB", name="Japan\u200f 1 GB")},
        {"needs_attention": "The provider now reports another ICCID.", "customer_label": "Flagged Person"},
        {"kind": OrderKind.TOP_UP, "linked_order_id": "esim-20261120-ana00001", "price": Money(amount=Decimal("10"), currency="USD")},
        {"plan": FRANCE, "customer_label": "東京 Tanaka"},
    ]
    for n, change in enumerate(changes):
        sale = sold(f"ESIM-20261001-VAR{n:05d}", f"8944000{n:012d}", created_at=T - timedelta(days=40, hours=n))
        orders.append(sale.model_copy(update=change))
    return orders


# What the desk types: fields of the orders above, pieces of them, and words found nowhere.
_QUERIES = ["", "ana", "8796", "0005", "cote", "zoë", "tanaka", "東京", "elodie@", "fr", "fra", "japan", "esimgo", "oc-",
            "2026-10", "var00003", "flagged person", "eur", "nowhere", "8944000000000000007"]


def test_the_finder_built_from_summaries_finds_what_the_full_records_find(tmp_path, monkeypatch):
    path = tmp_path / "orders.json"
    with OrderStore.open(path, clock=lambda: LATER, segment_capacity=3) as store:
        for order in varied_orders():
            store.save(order)
        first = OrderFinder.load(store)  # summarises every segment, and writes the summaries
    assert len(list(path.parent.glob("orders-archive-*.summary.json"))) >= 4
    made = []
    real_make = support.DESK_SUMMARY.make
    monkeypatch.setattr(support.DESK_SUMMARY, "make", lambda orders: made.extend(orders) or real_make(orders))
    with OrderStore.open(path, read_only=True) as store:
        in_play = {o.id for o in store.in_play()}
        finder = OrderFinder.load(store)
        full = OrderFinder.from_orders(store.all())
    assert {o.id for o in made} == in_play  # the archived orders came from their summaries
    assert len(finder) == len(varied_orders()) and 0 < len(in_play) < len(finder)
    assert list(finder) == list(full) == list(first)  # the same rows, newest first
    assert [r.as_json() for r in finder] == [r.as_json() for r in full]  # as `orders find --json` prints them
    assert [r.cells for r in finder] == [r.cells for r in full]
    for query in _QUERIES:
        for filter in F:
            assert ids(finder.search(query, filter)) == ids(full.search(query, filter)), (query, filter)

    later_sale = sold("ESIM-20270101-NEW00001", "8944999900001111222", customer_label="Ana Late", created_at=LATER)
    finder.update(later_sale)  # a sale made while the list is open goes in among the loaded rows
    assert ids(finder.search("ana"))[0] == later_sale.id


@pytest.mark.parametrize(
    ("column", "damage"),
    [
        ("stage", lambda c: {"values": ["no such stage"] * len(c["values"]), "codes": c["codes"]}),
        ("price", lambda c: {"values": ["NaN USD"] * len(c["values"]), "codes": c["codes"]}),
        ("price", lambda c: {"values": ["twelve USD"] * len(c["values"]), "codes": c["codes"]}),
        ("state", lambda c: {"values": c["values"], "codes": [-1] * len(c["codes"])}),
        ("plan", lambda c: {"values": c["values"], "codes": c["codes"][:-1]}),
        ("created", lambda c: [t[:19] for t in c]),  # the time zone cut off
        ("text", lambda c: [None] * len(c)),
        ("iccid", lambda c: [1] * len(c)),
        ("attention", lambda c: None),
    ],
)
def test_a_damaged_summary_is_rebuilt_from_its_segment(tmp_path, column, damage):
    path = tmp_path / "orders.json"
    with OrderStore.open(path, clock=lambda: LATER, segment_capacity=3) as store:
        for order in varied_orders():
            store.save(order)
        good = OrderFinder.load(store)
    file = path.parent / "orders-archive-000001.summary.json"
    data = json.loads(file.read_text())
    data["columns"][column] = damage(data["columns"][column])
    file.write_text(json.dumps(data, ensure_ascii=False))
    with OrderStore.open(path, clock=lambda: LATER, segment_capacity=3) as store:
        again = OrderFinder.load(store)
    assert list(again) == list(good)
    assert json.loads(file.read_text())["columns"][column] != data["columns"][column]  # rewritten


def test_summaries_hold_no_activation_code_and_are_private(tmp_path):
    path = tmp_path / "orders.json"
    with OrderStore.open(path, clock=lambda: LATER, segment_capacity=3) as store:
        orders = varied_orders()
        for order in orders:
            store.save(order)
        OrderFinder.load(store)
    files = list(path.parent.glob("orders-archive-*.summary.json"))
    text = "".join(f.read_text() for f in files)
    assert files and "LPA:" not in text and "rsp.example.com" not in text
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}


def test_changing_the_row_code_changes_the_summary_tag(monkeypatch):
    before = support.DESK_SUMMARY.tag
    support._row_tag.cache_clear()
    monkeypatch.setattr(support, "_ROW_FORMAT", support._ROW_FORMAT + 1)
    try:
        assert support.DESK_SUMMARY.tag != before  # so every summary on disk is rebuilt
    finally:
        support._row_tag.cache_clear()


# ---------------------------------------------------------------- the order's life


@asynccontextmanager
async def counter(tmp_path):
    """The counter's services on the in-process sandbox, and a fresh order store."""
    settings = load_settings(None, environ={}, db=tmp_path / "orders.json")
    with OrderStore.open(tmp_path / "orders-test.json") as store:
        ctx = build_context(settings, store=store, sandbox=make_sandbox(), now=lambda: T0, force_sandbox=True)
        try:
            yield store, ctx
        finally:
            await ctx.aclose()


async def sell_japan(ctx, provider: ProviderName):
    """The cheapest Japan plan of ``provider``, sold to Ana Silva and installed on her phone."""
    offer = (await ctx.sales.load_catalogue()).catalogue.search("japan")[0]
    plan = next(p for p in offer.plans if p.provider is provider)
    order = await ctx.sales.mark_shown(await ctx.sales.place(await ctx.sales.open_sale(plan, None, "Ana Silva")))
    await ctx.training.install(order.iccid)
    return plan, order


@pytest.mark.anyio
async def test_the_timeline_of_a_sale_reads_in_the_counters_words(tmp_path):
    async with counter(tmp_path) as (_store, ctx):
        plan, order = await sell_japan(ctx, ProviderName.OCTOPUS)
        entries = timeline(await ctx.sales.refresh(order))
    assert [e.event for e in entries] == [
        "Created", "Sent to the provider", "Charged", "Delivered", "Activation code received", "Not installed yet",
        "Activation code shown", "Installed",
    ]
    assert entries[0].detail == f"{plan.name} for {plan.price}"
    # The wallet debit after the client discount, in cents; the record keeps the provider's 4.275.
    assert entries[2].detail == "4.28 USD"
    assert order.price.amount == Decimal("4.275")


async def topped_up(ctx):
    """eSIM Go Japan sold to Ana Silva, installed, 250 MB used, then topped up with the first bundle that fits."""
    sales = ctx.sales
    _plan, esim = await sell_japan(ctx, ProviderName.ESIMGO)
    await ctx.training.use_data(esim.iccid, 250_000_000)
    esim = await sales.refresh(esim)
    return esim, await sales.place(await sales.open_sale((await sales.top_up_plans(esim))[0], None, top_up_of=esim))


@pytest.mark.anyio
async def test_the_timeline_of_an_esim_topped_up_and_refunded(tmp_path):
    async with counter(tmp_path) as (store, ctx):
        sales = ctx.sales
        esim, top_up = await topped_up(ctx)
        esim = await sales.refresh(await sales.note_top_up(esim, top_up))
        queued = next(b for b in esim.bundles if b.state is BundleState.QUEUED)
        assert top_up.owns(queued) and not esim.owns(queued)
        top_up, refund = await sales.refund(top_up, queued)  # recorded on the sale that bought it
        esim = await sales.order(esim.id)
        linked = linked_orders(store, esim)
        parent_of_top_up = linked_orders(store, top_up)
    entries = timeline(esim, linked)
    events = [e.event for e in entries]
    assert ["Installed", "First use (active)", "Bundle in use (first use)", "Topped up"] == [
        e for e in events if e in ("Installed", "First use (active)", "Bundle in use (first use)", "Topped up", "Refund asked for", "Refunded")
    ]
    assert events.count("Topped up") == 1 and "Top-up ordered" not in events  # noted once, on the first sale
    assert next(e.detail for e in entries if e.event == "Topped up") == f"{top_up.plan.name} (order {top_up.id})"
    # The refund is the top-up's; the first sale's timeline tells it too, after the top-up.
    assert events.index("Top-up refunded") > events.index("Topped up")
    assert next(e.detail for e in entries if e.event == "Top-up refunded") == f"{top_up.plan.name} (order {top_up.id})"
    top_up_entries = timeline(top_up, parent_of_top_up)
    assert [e.event for e in top_up_entries if e.event.startswith("Refund")] == ["Refund asked for", "Refunded"]
    assert next(e.detail for e in top_up_entries if e.event == "Refunded") == f"{queued.bundle_name}: {refund.amount}"
    assert (order_state(top_up), stage(top_up), order_state(esim)) == ("Refunded", F.REFUNDED, "Active")
    assert [o.id for o in linked] == [top_up.id] and [o.id for o in parent_of_top_up] == [esim.id]
    assert "Tops up an earlier order" in [e.event for e in top_up_entries]

    shown = describe(top_up, parent_of_top_up)
    assert shown["activation_code"] is None and shown["activation_code_state"] == "spent (installed)"  # the eSIM is on the phone
    used = describe(esim, linked)["bundles"][0]
    assert (used["used_bytes"], used["used"], used["state"]) == (250_000_000, "250 MB", "active")


@pytest.mark.anyio
async def test_a_top_up_reads_its_own_bundle_on_the_shared_esim_and_is_marked_in_the_list(tmp_path):
    async with counter(tmp_path) as (store, ctx):
        sales = ctx.sales
        esim, top_up = await topped_up(ctx)
        # Straight after the sale: the eSIM is installed, its own bundle waits behind the first one.
        assert top_up.is_installed and [b.state for b in top_up.own_bundles] == [BundleState.QUEUED]
        assert (order_state(top_up), stage(top_up)) == ("Installed", F.INSTALLED)
        assert data_left(top_up) == "██████████ 1 GB" and data_left(esim).endswith(" 750 MB")
        # One check of the eSIM, from either record, brings every record of it up to date.
        await ctx.training.use_data(esim.iccid, 250_000_000)
        await sales.refresh(top_up)
        esim = await sales.order(esim.id)
        assert data_left(esim).endswith(" 500 MB") and order_state(esim) == "Active"
        rows = {r.id: r for r in OrderFinder.from_orders(store.all()).search("")}
    assert rows[top_up.id].cells[3].startswith("Top-up ") and not rows[esim.id].cells[3].startswith("Top-up")


def test_the_timeline_uses_the_providers_times_and_tells_a_failed_top_up():
    esim = sold("ESIM-20261122-ANA00001", "8944158813998698796", install_state=InstallState.INSTALLED, installed_at=T + timedelta(minutes=5))
    esim.note(T + timedelta(minutes=45), "INSTALLED")  # learnt at the next check
    esim.note(T + timedelta(minutes=10), "SHOWN")
    failed_top_up = order_for(sample_plan(name="Japan top-up 1 GB"), "ESIM-20261122-TOP00002", kind=OrderKind.TOP_UP,
                              linked_order_id=esim.id, iccid=esim.iccid, created_at=T + timedelta(hours=2), status=OrderStatus.FAILED)
    failed_top_up.note(T + timedelta(hours=2, minutes=1), "FAILED", "No credit")
    entries = timeline(esim, [failed_top_up])
    assert [(e.at - T, e.event) for e in entries][-4:] == [
        (timedelta(minutes=5), "Installed"),
        (timedelta(minutes=10), "Activation code shown"),
        (timedelta(hours=2), "Top-up ordered"),
        (timedelta(hours=2, minutes=1), "Top-up failed"),
    ]


def test_a_record_without_history_still_starts_with_its_creation():
    bare = order_for(sample_plan(), "ESIM-20261122-BARE0001", activated_at=T + timedelta(hours=3))
    assert [(e.event, e.at - T) for e in timeline(bare)] == [("Created", timedelta(0)), ("First use (active)", timedelta(hours=3))]


# ---------------------------------------------------------------- the detail view


def test_the_code_is_shown_only_until_the_esim_is_installed():
    waiting = sold("ESIM-20261122-ANA00001", "8944158813998698796", customer_label="Ana Silva")
    details = describe(waiting)
    assert details["activation_code"] == waiting.activation_code
    assert waiting.activation_code in render_text(waiting)

    installed = waiting.model_copy(update={"install_state": InstallState.INSTALLED, "installed_at": T})
    details = describe(installed)
    assert details["activation_code"] is None and details["activation_code_state"] == "spent (installed)"
    text = render_text(installed)
    assert waiting.activation_code not in text and "spent (installed)" in text


def test_describe_is_json_ready_with_exact_money_and_iso_times():
    order = sold("ESIM-20261122-ANA00001", "8944158813998698796", price=Money(amount=Decimal("4.275"), currency="USD"),
                 bundles=(BundleUsage(bundle_name="JP_1GB", state=BundleState.ACTIVE, initial_bytes=1_000_000_000,
                                      remaining_bytes=400_000_000, ends_at=T + timedelta(days=7)),))
    details = json.loads(json.dumps(describe(order)))
    assert details["price"] == {"amount": "4.275", "currency": "USD"}
    assert details["plan"]["list_price"] == {"amount": "4.50", "currency": "USD"}
    assert details["created_at"] == "2026-11-22T09:00:00+00:00"
    assert details["bundles"][0]["ends_at"] == "2026-11-29T09:00:00+00:00"
    assert (details["bundles"][0]["used"], details["bundles"][0]["left"]) == ("600 MB", "400 MB")
    assert details["provider_order_id"] == "oc-esim-20261122-ana00001" and details["iccid"] == "8944158813998698796"
    assert details["timeline"][2] == {"at": "2026-11-22T09:00:00+00:00", "event": "Charged", "detail": "4.28 USD"}  # words; "price" keeps 4.275
    text = render_text(order)
    assert "4.28 USD (list price 4.50 USD)" in text and "used 600 MB of 1 GB, 400 MB left" in text


def test_provider_text_is_shown_as_plain_text():
    order = sold("ESIM-20261122-ANA00001", "8944158813998698796", plan=sample_plan(name="Japan\x1b[2J 1 GB\u202e"),
                 failure=None, needs_attention="Check\x1b]52;c;AAAA\x07 this")
    text = render_text(order)
    assert "\x1b" not in text and "\u202e" not in text and "Japan[2J 1 GB" in text


def test_another_locale_changes_the_summary_tag():
    from esim_tui.domain import formats

    before = support.DESK_SUMMARY.tag
    formats.use_locale("de")
    try:
        assert support.DESK_SUMMARY.tag != before  # the rows on disk were written in English: rebuilt
    finally:
        formats.use_locale("en")
