"""The Octopus Cards adapter against the sandbox: catalogue, quotes, orders, every fault kind."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from esim_tui.domain.codes import ActivationCode, luhn_ok
from esim_tui.domain.destinations import DestinationKind
from esim_tui.domain.errors import (
    AuthenticationFailed,
    DuplicateReference,
    OutcomeUnknown,
    ProviderUnreachable,
    RequestRejected,
)
from esim_tui.domain.orders import ActivationStatus, InstallState, OrderStatus
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from tests.providers.conftest import AMBIGUOUS_CREATES, control, fault, ledger

pytestmark = pytest.mark.anyio


async def japan_1gb(octopus: OctopusCards):
    plans = await octopus.plans()
    return next(p for p in plans if p.plan_id == "5511")


async def test_catalogue_has_every_destination_kind_and_the_guides_japan_plans(octopus):
    plans = await octopus.plans()
    assert len(plans) > 1000
    kinds = {p.destination.kind for p in plans}
    assert kinds == {DestinationKind.COUNTRY, DestinationKind.REGION, DestinationKind.GLOBAL}
    japan = sorted((p for p in plans if p.product_id == "712"), key=lambda p: p.price.amount)
    assert [(p.name, p.data_mb, p.validity_days, p.price.amount) for p in japan] == [
        ("Japan 1 GB / 7 days", 1000, 7, Decimal("4.50")),
        ("Japan 5 GB / 30 days", 5000, 30, Decimal("14.90")),
        ("Japan 20 GB / 30 days", 20000, 30, Decimal("39.90")),
    ]
    assert all(p.destination.code == "JP" and p.destination.alpha3 == "JPN" for p in japan)
    assert all(isinstance(p.price.amount, Decimal) for p in plans)
    europe = next(p for p in plans if p.destination.kind is DestinationKind.REGION and p.destination.name == "Europe")
    assert "FR" in europe.coverage and "JP" not in europe.coverage


async def test_catalogue_is_kept_for_an_hour_then_fetched_again(sandbox):
    clock = [0.0]
    requests = []

    class Counting(type(sandbox_transport(sandbox))):
        async def handle_async_request(self, request):
            requests.append(request.url.path)
            return await super().handle_async_request(request)

    adapter = OctopusCards(IN_PROCESS_URL, SecretStr("sandbox"), transport=Counting(sandbox), monotonic=lambda: clock[0])
    await adapter.plans()
    first = len(requests)
    clock[0] = 3599
    await adapter.plans()
    assert len(requests) == first  # still cached
    clock[0] = 3601
    await adapter.plans()
    assert len(requests) == 2 * first
    await adapter.plans(refresh=True)
    assert len(requests) == 3 * first
    await adapter.aclose()


async def test_quote_is_the_wallet_debit_after_the_client_discount(octopus):
    quote = await octopus.quote(await japan_1gb(octopus))
    assert quote.valid
    assert quote.total.amount == Decimal("4.275") and quote.total.currency == "USD"


async def test_an_order_delivers_with_a_valid_code_and_is_charged_once(octopus, sandbox):
    plan = await japan_1gb(octopus)
    order = await octopus.place_order(plan, "TRIP_TOKYO_OCT")
    assert order.status is OrderStatus.DELIVERED
    assert order.client_reference == "TRIP_TOKYO_OCT"
    assert luhn_ok(order.iccid) and len(order.iccid) == 19
    assert ActivationCode.parse(order.activation_code).lpa == order.activation_code
    assert order.charged.amount == Decimal("4.275")
    charges = (await ledger(sandbox))["charges"]
    assert [(c["client_reference"], c["amount"], c["refunded"]) for c in charges] == [("TRIP_TOKYO_OCT", "4.275", False)]


async def test_a_second_order_under_the_same_reference_is_a_duplicate_and_not_charged(octopus, sandbox):
    plan = await japan_1gb(octopus)
    await octopus.place_order(plan, "TRIP_TOKYO_OCT")
    with pytest.raises(DuplicateReference):
        await octopus.place_order(plan, "TRIP_TOKYO_OCT")
    assert len((await ledger(sandbox))["charges"]) == 1


async def test_find_order_by_reference_round_trips_awkward_characters(octopus):
    from tests.store_helpers import order_for

    plan = await japan_1gb(octopus)
    placed = await octopus.place_order(plan, "a+b&c#d e")
    found = await octopus.find_order(order_for(plan, "a+b&c#d e"))
    assert found is not None and found.provider_order_id == placed.provider_order_id
    assert found.activation_code == placed.activation_code  # the detail endpoint still shows it
    assert await octopus.find_order(order_for(plan, "a b&c#d e")) is None


async def test_install_withholds_the_code_and_data_use_activates(octopus, sandbox):
    from tests.store_helpers import order_for

    plan = await japan_1gb(octopus)
    placed = await octopus.place_order(plan, "INSTALL-1")
    record = order_for(plan, "INSTALL-1").merge(placed, placed.created_at)
    await control(sandbox, "POST", f"/_sandbox/esims/{placed.iccid}/install")
    status = await octopus.esim_status(record)
    assert status.install_state is InstallState.INSTALLED
    assert status.activation_code is None  # withheld after install
    assert status.expires_at is not None and (status.expires_at - status.installed_at).days == 7
    kept = record.merge_esim(status, status.installed_at)
    assert kept.activation_code == placed.activation_code  # our copy is never replaced
    await control(sandbox, "POST", f"/_sandbox/esims/{placed.iccid}/usage", {"bytes": 1000})
    assert (await octopus.esim_status(record)).activation_status is ActivationStatus.ACTIVE
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 8 * 86400})
    assert (await octopus.esim_status(record)).activation_status is ActivationStatus.EXPIRED


async def test_pending_orders_resolve_on_a_later_get(octopus, sandbox):
    plan = await japan_1gb(octopus)
    await fault(sandbox, endpoint="create_order", kind="pending", seconds=30)
    placed = await octopus.place_order(plan, "SLOW-1")
    assert placed.status is OrderStatus.PENDING and placed.activation_code is None
    assert (await octopus.get_order(placed.provider_order_id)).status is OrderStatus.PENDING
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 31})
    delivered = await octopus.get_order(placed.provider_order_id)
    assert delivered.status is OrderStatus.DELIVERED and delivered.activation_code


async def test_a_failed_order_carries_the_reason_and_is_refunded(octopus, sandbox):
    plan = await japan_1gb(octopus)
    await fault(sandbox, endpoint="create_order", kind="fail", failure_code="PLAN_UNAVAILABLE", is_user_fixable=True)
    placed = await octopus.place_order(plan, "FAIL-1")
    assert placed.status is OrderStatus.FAILED
    assert placed.failure.code == "PLAN_UNAVAILABLE" and placed.failure.is_user_fixable
    assert [c["refunded"] for c in (await ledger(sandbox))["charges"]] == [True]


@pytest.mark.parametrize(
    ("kind", "extra", "charged"),
    AMBIGUOUS_CREATES,
)
async def test_an_ambiguous_create_is_outcome_unknown_never_failed(octopus, sandbox, kind, extra, charged):
    plan = await japan_1gb(octopus)
    await fault(sandbox, endpoint="create_order", kind=kind, **extra)
    with pytest.raises(OutcomeUnknown) as caught:
        await octopus.place_order(plan, f"AMBIG-{kind}")
    assert "sandbox" not in caught.value.message  # no token in the message
    assert len((await ledger(sandbox))["charges"]) == charged


async def test_a_rate_limited_create_waits_retry_after_and_is_charged_once(octopus, sandbox, waits):
    plan = await japan_1gb(octopus)
    await fault(sandbox, endpoint="create_order", kind="rate_limit", retry_after="2")
    placed = await octopus.place_order(plan, "RL-1")
    assert placed.status is OrderStatus.DELIVERED
    assert waits == [2.0]
    assert len((await ledger(sandbox))["charges"]) == 1


@pytest.mark.parametrize("kind", ["error_500_after_commit", "drop_before_commit", "drop_after_commit", "malformed_json", "error_503"])
async def test_reads_retry_through_transient_faults(octopus, sandbox, kind):
    plan = await japan_1gb(octopus)
    placed = await octopus.place_order(plan, f"READ-{kind}")
    await fault(sandbox, endpoint="get_order", kind=kind, count=2)
    again = await octopus.get_order(placed.provider_order_id)
    assert again.activation_code == placed.activation_code


async def test_reads_honour_retry_after_given_as_a_date(octopus, sandbox, waits):
    plan = await japan_1gb(octopus)
    placed = await octopus.place_order(plan, "RL-DATE")
    await fault(sandbox, endpoint="get_order", kind="rate_limit", retry_after="Sun, 22 Nov 2026 09:00:00 GMT")
    await fault(sandbox, endpoint="get_order", kind="rate_limit", retry_after="soon-ish")
    await octopus.get_order(placed.provider_order_id)
    assert len(waits) == 2 and all(1.0 <= w <= 60.0 for w in waits)


async def test_a_bad_token_is_an_authentication_error_that_does_not_leak_it(sandbox):
    adapter = OctopusCards(IN_PROCESS_URL, SecretStr("wrong-secret-token"), transport=sandbox_transport(sandbox))
    with pytest.raises(AuthenticationFailed) as caught:
        await adapter.plans()
    assert "wrong-secret-token" not in str(caught.value) and "wrong-secret-token" not in repr(adapter.http.client.auth)
    await adapter.aclose()


async def test_an_unknown_amount_is_refused_before_any_charge(octopus, sandbox):
    plan = (await japan_1gb(octopus)).model_copy(update={"price": (await japan_1gb(octopus)).price.model_copy(update={"amount": Decimal("4.60")})})
    with pytest.raises(RequestRejected):
        await octopus.place_order(plan, "WRONG-AMOUNT")
    assert (await ledger(sandbox))["charges"] == []


async def test_an_unreachable_provider_is_reported_as_not_sent(waits):
    adapter = OctopusCards("http://127.0.0.1:9", SecretStr("sandbox"), sleep=waits)
    from tests.store_helpers import sample_plan

    with pytest.raises(ProviderUnreachable) as caught:
        await adapter.place_order(sample_plan(), "NEVER-SENT")
    assert "nothing was charged" in caught.value.message
    assert len(waits) == 2  # three attempts, all refused before sending
    await adapter.aclose()
