"""The eSIM Go adapter against the sandbox: catalogue, quote by validate, sale, top-up, finding an order
of unknown outcome, install and bundle states, refunds, balance and the install pack."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest

from esim_tui.domain.codes import ActivationCode, luhn_ok
from esim_tui.domain.destinations import DestinationKind
from esim_tui.domain.errors import OutcomeUnknown, RequestRejected
from esim_tui.domain.money import Money
from esim_tui.domain.orders import ActivationStatus, BundleState, InstallState, Order, OrderKind, OrderStatus, ProviderOrder
from esim_tui.domain.plans import Plan
from esim_tui.providers.esimgo import EsimGo
from esim_tui.sandbox.esimgo_catalogue import build_catalogue
from esim_tui.services.wording import order_state
from tests.conftest import T0
from tests.providers.conftest import Recording, control, esimgo_adapter, ledger
from tests.store_helpers import order_for

pytestmark = pytest.mark.anyio

NL = "esim_1GB_7D_NL_V2"
NL_3GB = "esim_3GB_30D_NL_V2"
SMDP_HOST = "rsp.sandbox.esim-go.example"


async def plan_named(esimgo: EsimGo, name: str = NL) -> Plan:
    return next(p for p in await esimgo.plans() if p.plan_id == name)


def record(plan: Plan, reference: str, answer: ProviderOrder | None = None, **changes) -> Order:
    """Our record of a sale (intent at T0), with the provider's answer taken in."""
    order = order_for(plan, reference, **changes)
    return order.merge(answer, T0) if answer is not None else order


async def sell(esimgo: EsimGo, name: str = NL, reference: str = "SALE") -> tuple[Plan, ProviderOrder, Order]:
    plan = await plan_named(esimgo, name)
    answer = await esimgo.place_order(plan, reference)
    return plan, answer, record(plan, reference, answer)


def refunds(account: dict) -> list:
    """Refund entries of the ledger (older ledgers only mark the charge refunded)."""
    if "refunds" in account:
        return account["refunds"]
    return [c for c in account["charges"] if c["refunded"]]


# ---------------------------------------------------------------- catalogue


async def test_the_guides_bundle_is_a_netherlands_plan_with_exact_money(esimgo, sandbox):
    plans = await esimgo.plans()
    assert len(plans) == len(build_catalogue(sandbox.config.seed).bundles)  # nothing lost on the way
    nl = await plan_named(esimgo)
    assert (nl.destination.kind, nl.destination.code) == (DestinationKind.COUNTRY, "NL")
    assert (nl.name, nl.data_mb, nl.unlimited, nl.validity_days) == ("Netherlands 1 GB / 7 days", 1000, False, 7)
    assert nl.price == Money(amount=build_catalogue(sandbox.config.seed).get(NL).price, currency="USD")
    assert nl.coverage == ("NL",) and nl.autostart is True and nl.speeds
    assert nl.description == "eSIM, 1GB, 7 Days, Netherlands, V2"
    assert all(type(p.price.amount) is Decimal for p in plans)


async def test_an_unlimited_bundle_is_unlimited_and_named_by_its_kind(esimgo):
    plans = await esimgo.plans()
    lite = next(p for p in plans if p.plan_id.startswith("esim_UL_") and p.destination.kind is DestinationKind.COUNTRY)
    assert lite.unlimited and lite.data_mb is None and lite.data_label == "Unlimited Lite"  # the whole kind, not "Unlimited"
    assert "Unlimited Lite" in lite.name
    plus = next(p for p in plans if p.plan_id.startswith("esim_ULP_"))
    assert "Unlimited Plus" in plus.name


async def test_regional_and_global_bundles_are_sold_under_their_region_and_worldwide(esimgo):
    europe = await plan_named(esimgo, "esim_1GB_7D_REUR_V2")
    assert europe.destination.kind is DestinationKind.REGION and europe.destination.name == "Europe"
    assert europe.name == "Europe 1 GB / 7 days"
    assert {"FR", "NL", "DE"} <= set(europe.coverage) and "JP" not in europe.coverage
    world = await plan_named(esimgo, "esim_1GB_7D_RGBS_V2")
    assert world.destination.kind is DestinationKind.GLOBAL
    assert {"JP", "FR", "BR", "AU"} <= set(world.coverage)


async def test_the_catalogue_is_fetched_page_by_page(sandbox, monkeypatch):
    from esim_tui.providers import esimgo as module

    monkeypatch.setattr(module, "CATALOGUE_PER_PAGE", 500)
    recording = Recording(sandbox)
    adapter = esimgo_adapter(sandbox, transport=recording)
    plans = await adapter.plans()
    pages = [q for m, path, q in recording.requests if path == "/catalogue"]
    assert [(q["page"], q["perPage"]) for q in pages] == [("1", "500"), ("2", "500"), ("3", "500"), ("4", "500")]
    assert len({p.plan_id for p in plans}) == len(plans) == len(build_catalogue(sandbox.config.seed).bundles)
    await adapter.aclose()


async def test_the_catalogue_is_kept_for_an_hour_and_refreshed_on_request(sandbox):
    clock = [0.0]
    recording = Recording(sandbox)
    adapter = esimgo_adapter(sandbox, transport=recording, monotonic=lambda: clock[0])
    await adapter.plans()
    first = recording.paths().count("/catalogue")
    assert first == 2  # 1786 bundles at 1000 a page
    clock[0] = 3599
    await adapter.plans()
    assert recording.paths().count("/catalogue") == first  # cached: eSIM Go forbids frequent polling
    clock[0] = 3601
    await adapter.plans()
    assert recording.paths().count("/catalogue") == 2 * first
    await adapter.plans(refresh=True)
    assert recording.paths().count("/catalogue") == 3 * first
    assert recording.paths().count("/organisation") == 1  # the currency is asked once
    await adapter.aclose()


# ---------------------------------------------------------------- quote and sale


async def test_the_quote_is_the_validated_total_and_charges_nothing(esimgo, sandbox):
    nl = await plan_named(esimgo)
    quote = await esimgo.quote(nl)
    assert quote.valid and quote.total == nl.price and quote.plan_key == f"esimgo:{NL}"
    assert (await ledger(sandbox, "esimgo"))["charges"] == []


async def test_a_quote_whose_price_moved_is_not_valid(esimgo):
    nl = await plan_named(esimgo)
    stale = nl.model_copy(update={"price": Money(amount=Decimal("0.99"), currency="USD")})
    quote = await esimgo.quote(stale)
    assert not quote.valid and quote.total == nl.price
    assert "0.99" in quote.note and str(nl.price.amount) in quote.note


async def test_a_quote_the_provider_would_refuse_says_why(sandbox):
    from tests.conftest import make_sandbox

    poor = make_sandbox(esimgo_balance=Decimal("1.00"))
    adapter = esimgo_adapter(poor)
    quote = await adapter.quote(await plan_named(adapter))
    assert not quote.valid and "Insufficient balance" in quote.note
    await adapter.aclose()


async def test_a_sale_delivers_an_esim_with_a_valid_code_and_is_charged_once(esimgo, sandbox):
    plan, answer, _ = await sell(esimgo, reference="TRIP-AMS")
    assert answer.status is OrderStatus.DELIVERED
    assert luhn_ok(answer.iccid) and len(answer.iccid) == 19
    code = ActivationCode.parse(answer.activation_code)
    assert code.smdp_address == SMDP_HOST  # the sandbox sends http://..., the LPA string never has a scheme
    assert answer.activation_code == code.lpa and "http" not in answer.activation_code
    assert answer.charged == plan.price and answer.created_at == T0
    account = await ledger(sandbox, "esimgo")
    assert [(c["order_id"], c["amount"]) for c in account["charges"]] == [(answer.provider_order_id, str(plan.price.amount))]
    again = await esimgo.get_order(answer.provider_order_id)
    assert (again.status, again.iccid, again.activation_code) == (answer.status, answer.iccid, answer.activation_code)


async def test_the_install_pack_is_a_zip_with_one_qr_png_and_the_csv(esimgo):
    _, answer, order = await sell(esimgo)
    pack = await esimgo.install_pack(order)
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        names = set(archive.namelist())
        assert f"{answer.iccid}.png" in names
        assert archive.read(f"{answer.iccid}.png").startswith(b"\x89PNG\r\n\x1a\n")
        csv_name = next(n for n in names if n.endswith(".csv"))
        assert answer.iccid in archive.read(csv_name).decode()
    assert await esimgo.install_pack(order.model_copy(update={"provider_order_id": None})) is None


async def test_balance_is_the_organisations_money(esimgo, sandbox):
    assert await esimgo.balance() == Money(amount=Decimal("5000.00"), currency="USD")
    plan, _, _ = await sell(esimgo)
    balance = await esimgo.balance()
    assert balance.amount == Decimal("5000.00") - plan.price.amount
    assert str(balance.amount) == (await ledger(sandbox, "esimgo"))["balance"]


# ---------------------------------------------------------------- top-ups


async def test_top_up_plans_are_compatible_bundles_covering_the_destination_cheapest_first(sandbox):
    recording = Recording(sandbox)
    adapter = esimgo_adapter(sandbox, transport=recording)
    _, answer, order = await sell(adapter)
    offered = await adapter.top_up_plans(order)
    checks = [path for path in recording.paths() if "/compatible/" in path]
    assert 0 < len(checks) <= 20  # bounded: eSIM Go allows 10 requests a second
    assert offered and all("NL" in p.coverage for p in offered)
    assert not any(p.unlimited for p in offered)  # unlimited bundles run on another operator profile
    assert [p.price.amount for p in offered] == sorted(p.price.amount for p in offered)
    assert {"esim_1GB_7D_REUR_V2", "esim_1GB_7D_RGBS_V2", NL} <= {p.plan_id for p in offered}
    assert all(f"/esims/{answer.iccid}/compatible/" in path for path in checks)
    await adapter.aclose()


async def test_an_unlimited_esim_is_offered_only_unlimited_top_ups(esimgo):
    plans = await esimgo.plans()
    lite = next(p for p in plans if p.plan_id.startswith("esim_UL_") and p.destination.kind is DestinationKind.COUNTRY)
    _, _, order = await sell(esimgo, lite.plan_id)
    offered = await esimgo.top_up_plans(order)
    assert offered and all(p.unlimited for p in offered)


async def test_a_top_up_lands_on_the_same_iccid_and_is_charged_once(esimgo, sandbox):
    _, sale, order = await sell(esimgo)
    more = await plan_named(esimgo, NL_3GB)
    topped = await esimgo.place_order(more, "TOPUP-1", iccid=sale.iccid)
    assert topped.status is OrderStatus.DELIVERED and topped.iccid == sale.iccid
    assert topped.provider_order_id != sale.provider_order_id and topped.charged == more.price
    charges = (await ledger(sandbox, "esimgo"))["charges"]
    assert [(c["order_id"], c["amount"]) for c in charges][1:] == [(topped.provider_order_id, str(more.price.amount))]
    status = await esimgo.esim_status(order)
    assert [b.bundle_name for b in status.bundles] == [NL, NL_3GB]


async def test_an_incompatible_top_up_is_refused_not_moved_to_a_new_esim(esimgo, sandbox):
    _, sale, _ = await sell(esimgo)
    unlimited = next(p for p in await esimgo.plans() if p.unlimited and "NL" in p.coverage)
    with pytest.raises(RequestRejected) as caught:
        await esimgo.place_order(unlimited, "TOPUP-UL", iccid=sale.iccid)
    assert "not compatible" in caught.value.reason
    assert len((await ledger(sandbox, "esimgo"))["charges"]) == 1  # the sale only


# ---------------------------------------------------------------- an order of unknown outcome


async def test_candidates_are_the_orders_of_the_same_bundle_since_the_intent(esimgo, sandbox):
    nl = await plan_named(esimgo)
    first = await esimgo.place_order(nl, "A")
    second = await esimgo.place_order(nl, "B")
    await esimgo.place_order(await plan_named(esimgo, NL_3GB), "C")
    candidates = await esimgo.order_candidates(order_for(nl, "UNKNOWN"))
    assert {c.provider_order_id for c in candidates} == {first.provider_order_id, second.provider_order_id}
    assert all(c.status is OrderStatus.DELIVERED and c.activation_code for c in candidates)
    with pytest.raises(OutcomeUnknown):  # two could be it: never guess
        await esimgo.find_order(order_for(nl, "UNKNOWN"))
    other = await plan_named(esimgo, "esim_5GB_30D_NL_V2")
    assert await esimgo.order_candidates(order_for(other, "OTHER")) == []
    assert await esimgo.find_order(order_for(other, "OTHER")) is None


async def test_orders_placed_before_the_intent_are_not_candidates(esimgo, sandbox):
    nl = await plan_named(esimgo)
    await esimgo.place_order(nl, "EARLIER")
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 3600})
    later = await esimgo.place_order(nl, "LATER")
    intent = order_for(nl, "LATER", created_at=T0 + timedelta(hours=1))
    found = await esimgo.find_order(intent)
    assert found is not None and found.provider_order_id == later.provider_order_id


async def test_a_top_up_record_matches_only_top_ups_onto_its_iccid(esimgo):
    _, sale_a, _ = await sell(esimgo, reference="A")
    _, sale_b, _ = await sell(esimgo, reference="B")
    more = await plan_named(esimgo, NL_3GB)
    onto_a = await esimgo.place_order(more, "TOP-A", iccid=sale_a.iccid)
    await esimgo.place_order(more, "TOP-B", iccid=sale_b.iccid)
    intent = order_for(more, "TOP-A", kind=OrderKind.TOP_UP, iccid=sale_a.iccid)
    assert [c.provider_order_id for c in await esimgo.order_candidates(intent)] == [onto_a.provider_order_id]


async def test_the_ordering_service_settles_a_lost_answer_without_a_second_charge(esimgo, sandbox, tmp_path, waits):
    from esim_tui.domain.plans import ProviderName
    from esim_tui.services.ordering import Sales
    from esim_tui.store.orders import OrderStore
    from tests.providers.conftest import esimgo_fault

    with OrderStore.open(tmp_path / "orders.json") as store:
        sales = Sales({ProviderName.ESIMGO: esimgo}, store, now=lambda: T0, sleep=waits)
        nl = await plan_named(esimgo)
        earlier = await sales.place(await sales.open_sale(nl, None))  # the same bundle, already ours
        await esimgo_fault(sandbox, endpoint="create_order", kind="error_500_after_commit")
        lost = await sales.place(await sales.open_sale(nl, None))
    assert earlier.status is OrderStatus.DELIVERED
    assert lost.status is OrderStatus.DELIVERED and lost.needs_attention is None
    assert lost.provider_order_id != earlier.provider_order_id and lost.activation_code
    charges = (await ledger(sandbox, "esimgo"))["charges"]
    assert sorted(c["order_id"] for c in charges) == sorted([earlier.provider_order_id, lost.provider_order_id])


# ---------------------------------------------------------------- install and data


async def test_install_and_bundle_states_follow_the_esim(esimgo, sandbox):
    _, answer, order = await sell(esimgo)
    iccid = answer.iccid
    status = await esimgo.esim_status(order)
    assert (status.install_state, status.activation_status) == (InstallState.NOT_INSTALLED, ActivationStatus.NOT_INSTALLED)
    [bundle] = status.bundles
    assert (bundle.bundle_name, bundle.state, bundle.initial_bytes, bundle.remaining_bytes) == (NL, BundleState.QUEUED, 10**9, 10**9)
    assert bundle.assigned_at == T0

    await control(sandbox, "POST", f"/_sandbox/esims/{iccid}/install")
    status = await esimgo.esim_status(order)
    assert status.install_state is InstallState.INSTALLED and status.installed_at == T0
    assert status.activation_status is None and status.bundles[0].state is BundleState.QUEUED

    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 600})
    await control(sandbox, "POST", f"/_sandbox/esims/{iccid}/usage", {"bytes": 250_000_000})
    status = await esimgo.esim_status(order)
    started = T0 + timedelta(seconds=600)
    assert status.activation_status is ActivationStatus.ACTIVE and status.activated_at == started
    assert status.bundles[0].state is BundleState.ACTIVE and status.bundles[0].remaining_bytes == 750_000_000
    assert status.expires_at == started + timedelta(days=7)

    await control(sandbox, "POST", f"/_sandbox/esims/{iccid}/usage", {"bytes": 10**9})
    status = await esimgo.esim_status(order)
    assert status.bundles[0].state is BundleState.DEPLETED and status.bundles[0].remaining_bytes == 0
    assert order_state(order.merge_esim(status, T0)) == "Out of data"

    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 8 * 86400})
    status = await esimgo.esim_status(order)
    assert status.activation_status is ActivationStatus.EXPIRED and status.bundles[0].state is BundleState.EXPIRED
    assert order_state(order.merge_esim(status, T0)) == "Expired"


async def test_a_processing_bundle_becomes_queued(esimgo, sandbox):
    sandbox.providers["esimgo"].bundle_processing_seconds = 60
    _, _, order = await sell(esimgo)
    assert (await esimgo.esim_status(order)).bundles[0].state is BundleState.PROCESSING
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 61})
    assert (await esimgo.esim_status(order)).bundles[0].state is BundleState.QUEUED


async def test_status_costs_two_requests(sandbox):
    recording = Recording(sandbox)
    adapter = esimgo_adapter(sandbox, transport=recording)
    _, answer, order = await sell(adapter)
    before = len(recording.requests)
    await adapter.esim_status(order)
    assert sorted(path for _, path, _ in recording.requests[before:]) == [f"/esims/{answer.iccid}", f"/esims/{answer.iccid}/bundles"]
    await adapter.aclose()


# ---------------------------------------------------------------- refunds


async def test_an_unstarted_bundle_is_checked_then_refunded_once(esimgo, sandbox):
    plan, answer, order = await sell(esimgo)
    check = await esimgo.check_refund(order, NL)
    assert check.refundable and check.amount == plan.price and check.bundle_name == NL
    account = await ledger(sandbox, "esimgo")
    assert refunds(account) == [] and Decimal(account["balance"]) == Decimal("5000.00") - plan.price.amount

    done = await esimgo.refund(order, NL)
    assert done.refundable and done.amount == plan.price and "refunded" in done.reason.lower()
    account = await ledger(sandbox, "esimgo")
    assert len(refunds(account)) == 1 and Decimal(account["balance"]) == Decimal("5000.00")

    again = await esimgo.check_refund(order, NL)
    assert not again.refundable and "already revoked" in again.reason
    assert not (await esimgo.refund(order, NL)).refundable
    assert len(refunds(await ledger(sandbox, "esimgo"))) == 1
    assert (await esimgo.esim_status(order)).bundles[0].state is BundleState.REVOKED


async def test_a_started_bundle_is_not_refundable_and_nothing_is_refunded(esimgo, sandbox):
    _, answer, order = await sell(esimgo)
    await control(sandbox, "POST", f"/_sandbox/esims/{answer.iccid}/usage", {"bytes": 1000})
    check = await esimgo.check_refund(order, NL)
    assert not check.refundable and "started using" in check.reason
    assert not (await esimgo.refund(order, NL)).refundable
    assert refunds(await ledger(sandbox, "esimgo")) == []
    assert (await esimgo.esim_status(order)).bundles[0].state is BundleState.ACTIVE


async def test_refunding_a_top_up_revokes_that_bundle_not_the_first(esimgo, sandbox):
    _, sale, order = await sell(esimgo)
    more = await plan_named(esimgo, NL_3GB)
    await esimgo.place_order(more, "TOPUP", iccid=sale.iccid)
    done = await esimgo.refund(order, NL_3GB)
    assert done.refundable and done.amount == more.price  # the catalogue price of the top-up bundle
    states = {b.bundle_name: b.state for b in (await esimgo.esim_status(order)).bundles}
    assert states == {NL: BundleState.QUEUED, NL_3GB: BundleState.REVOKED}


async def test_of_two_assignments_of_one_bundle_the_one_named_is_refunded(esimgo, sandbox):
    """A started sale and a queued top-up of the same bundle: the top-up's assignment is refunded."""
    plan, sale, order = await sell(esimgo)
    await control(sandbox, "POST", f"/_sandbox/esims/{sale.iccid}/usage", {"bytes": 1000})
    top_up = await esimgo.place_order(plan, "TOPUP", iccid=sale.iccid)
    queued = next(b for b in (await esimgo.esim_status(order)).bundles if b.state is BundleState.QUEUED)
    assert not (await esimgo.check_refund(order, NL)).refundable  # the sale's own assignment: started
    assert (await esimgo.check_refund(order, NL, assignment_id=queued.assignment_id)).refundable
    done = await esimgo.refund(order, NL, assignment_id=queued.assignment_id)
    assert done.refundable and len(refunds(await ledger(sandbox, "esimgo"))) == 1
    states = {b.assignment_reference.startswith(f"{top_up.provider_order_id}-"): b.state for b in (await esimgo.esim_status(order)).bundles}
    assert states == {False: BundleState.ACTIVE, True: BundleState.REVOKED}


async def test_revoking_by_name_takes_the_oldest_unused_assignment_whatever_the_offer_id(esimgo, sandbox):
    """As eSIM Go documents it: by bundle name alone, the oldest unused assignment goes."""
    plan, sale, order = await sell(esimgo)
    await esimgo.place_order(plan, "TOPUP", iccid=sale.iccid)
    first, second = (await esimgo.esim_status(order)).bundles
    answer = await esimgo.http.send("DELETE", f"/esims/{sale.iccid}/bundles/{NL}", params={"type": "transaction", "offerId": second.assignment_id})
    assert answer.status_code == 200, answer.text
    states = {b.assignment_id: b.state for b in (await esimgo.esim_status(order)).bundles}
    assert states == {first.assignment_id: BundleState.REVOKED, second.assignment_id: BundleState.QUEUED}


async def test_a_bundle_not_on_the_esim_is_not_refundable(esimgo):
    _, _, order = await sell(esimgo)
    check = await esimgo.check_refund(order, NL_3GB)
    assert not check.refundable and NL_3GB in check.reason


# ---------------------------------------------------------------- over loopback


async def test_a_sale_over_loopback_delivers_and_hands_over_the_zip(esimgo_served, sandbox):
    plan = await plan_named(esimgo_served)
    assert (await esimgo_served.quote(plan)).valid
    answer = await esimgo_served.place_order(plan, "LOOPBACK")
    assert answer.status is OrderStatus.DELIVERED and ActivationCode.parse(answer.activation_code).smdp_address == SMDP_HOST
    order = record(plan, "LOOPBACK", answer)
    assert zipfile.is_zipfile(io.BytesIO(await esimgo_served.install_pack(order)))
    assert (await esimgo_served.esim_status(order)).bundles[0].state is BundleState.QUEUED
    assert len((await ledger(sandbox, "esimgo"))["charges"]) == 1


async def test_an_unlimited_plan_reads_its_whole_kind_wherever_its_data_is_shown(esimgo):
    from esim_tui.services.wording import plan_summary

    day = next(p for p in await esimgo.plans() if p.plan_id.startswith("esim_UL_1D_"))
    assert plan_summary(day) == "Unlimited Lite / 1 day"
    assert day.name.endswith(" Unlimited Lite / 1 day")  # the name and the summary write it the same way
