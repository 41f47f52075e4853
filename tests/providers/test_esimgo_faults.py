"""The eSIM Go adapter when things go wrong: the sandbox's fault injection, rate limits, refusals and
bad keys. eSIM Go has no idempotency key, so a transaction is sent once and never blindly again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from esim_tui.domain.errors import (
    AuthenticationFailed,
    InsufficientBalance,
    MalformedResponse,
    OutcomeUnknown,
    RequestRejected,
)
from esim_tui.domain.orders import OrderStatus
from esim_tui.providers.esimgo import EsimGo
from tests.conftest import make_sandbox
from tests.providers.conftest import AMBIGUOUS_CREATES, Recording, Waits, control, esimgo_adapter, esimgo_fault, ledger
from tests.providers.test_esimgo_adapter import plan_named, sell
from tests.store_helpers import order_for

pytestmark = pytest.mark.anyio


def transactions(recording: Recording) -> list:
    return [r for r in recording.requests if r[0] == "POST" and r[1] == "/orders"]


async def test_a_rate_limited_catalogue_waits_retry_after(esimgo, sandbox, waits):
    await esimgo_fault(sandbox, endpoint="catalogue", kind="rate_limit", retry_after="2")
    assert len(await esimgo.plans()) > 1000
    assert waits == [2.0]


async def test_a_503_read_waits_retry_after_and_succeeds(esimgo, sandbox, waits):
    _, answer, order = await sell(esimgo)
    await esimgo_fault(sandbox, endpoint="get_esim", kind="error_503", retry_after="3")
    assert (await esimgo.esim_status(order)).iccid == answer.iccid
    assert waits == [3.0]


@pytest.mark.parametrize(
    ("kind", "extra", "charged"),
    [*AMBIGUOUS_CREATES, ("error_503", {}, 0)],
)
async def test_an_ambiguous_transaction_is_outcome_unknown_and_never_sent_twice(sandbox, kind, extra, charged):
    recording = Recording(sandbox)
    adapter = esimgo_adapter(sandbox, transport=recording)
    plan = await plan_named(adapter)
    await esimgo_fault(sandbox, endpoint="create_order", kind=kind, **extra)
    with pytest.raises(OutcomeUnknown) as caught:
        await adapter.place_order(plan, f"AMBIG-{kind}")
    assert "sandbox" not in caught.value.message  # no key in the message
    assert len(transactions(recording)) == 1
    assert len((await ledger(sandbox, "esimgo"))["charges"]) == charged
    await adapter.aclose()


async def test_a_rate_limited_transaction_waits_and_is_charged_once(esimgo, sandbox, waits):
    plan = await plan_named(esimgo)
    await esimgo_fault(sandbox, endpoint="create_order", kind="rate_limit", retry_after="2")
    placed = await esimgo.place_order(plan, "RL-1")
    assert placed.status is OrderStatus.DELIVERED and placed.activation_code
    assert waits == [2.0]
    assert len((await ledger(sandbox, "esimgo"))["charges"]) == 1


@pytest.mark.parametrize("kind", ["error_500_after_commit", "drop_before_commit", "drop_after_commit", "malformed_json", "error_503"])
async def test_reads_retry_through_transient_faults(esimgo, sandbox, kind):
    _, placed, _ = await sell(esimgo, reference=f"READ-{kind}")
    await esimgo_fault(sandbox, endpoint="get_order", kind=kind, count=2)
    again = await esimgo.get_order(placed.provider_order_id)
    assert again.activation_code == placed.activation_code


async def test_a_catalogue_that_stays_unreadable_is_malformed(esimgo, sandbox):
    await esimgo.plans()  # the organisation's currency is known; only the catalogue fails now
    await esimgo_fault(sandbox, endpoint="catalogue", kind="malformed_json", body="html", count=4)
    with pytest.raises(MalformedResponse):
        await esimgo.plans(refresh=True)


async def test_a_processing_order_is_pending_until_it_completes(esimgo, sandbox):
    plan = await plan_named(esimgo)
    await esimgo_fault(sandbox, endpoint="create_order", kind="pending", seconds=30)
    placed = await esimgo.place_order(plan, "SLOW-1")
    assert placed.status is OrderStatus.PENDING and placed.activation_code is None
    assert (await esimgo.get_order(placed.provider_order_id)).status is OrderStatus.PENDING
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 31})
    delivered = await esimgo.get_order(placed.provider_order_id)
    assert delivered.status is OrderStatus.DELIVERED and delivered.activation_code and delivered.iccid
    assert len((await ledger(sandbox, "esimgo"))["charges"]) == 1


async def test_a_processing_order_that_fails_carries_the_reason(esimgo, sandbox):
    plan = await plan_named(esimgo)
    await esimgo_fault(sandbox, endpoint="create_order", kind="pending", seconds=30, failure_reason="Bundle is currently unavailable")
    placed = await esimgo.place_order(plan, "SLOW-FAIL")
    await control(sandbox, "POST", "/_sandbox/clock", {"advance_seconds": 31})
    failed = await esimgo.get_order(placed.provider_order_id)
    assert failed.status is OrderStatus.FAILED
    assert "unavailable" in failed.failure.reason and failed.failure.is_user_fixable


async def test_a_refused_transaction_is_rejected_with_the_reason_and_charges_nothing(esimgo, sandbox):
    plan = await plan_named(esimgo)
    await esimgo_fault(sandbox, endpoint="create_order", kind="fail", failure_reason="Bundle is currently unavailable")
    with pytest.raises(RequestRejected) as caught:
        await esimgo.place_order(plan, "REFUSED")
    assert "unavailable" in caught.value.reason
    assert (await ledger(sandbox, "esimgo"))["charges"] == []


async def test_insufficient_balance_is_its_own_error_and_charges_nothing():
    sandbox = make_sandbox(esimgo_balance=Decimal("1.00"))
    adapter = esimgo_adapter(sandbox)
    with pytest.raises(InsufficientBalance) as caught:
        await adapter.place_order(await plan_named(adapter), "POOR")
    assert "Top up the provider balance" in caught.value.message
    assert (await ledger(sandbox, "esimgo"))["charges"] == []
    await adapter.aclose()


async def test_a_bad_key_is_an_authentication_error_that_does_not_leak_it(sandbox):
    adapter = esimgo_adapter(sandbox, key="wrong-secret-key")
    with pytest.raises(AuthenticationFailed) as caught:
        await adapter.plans()
    assert caught.value.status == 403
    assert "wrong-secret-key" not in str(caught.value) and "wrong-secret-key" not in repr(adapter.http.client.auth)
    await adapter.aclose()


async def test_a_bad_key_over_loopback_is_refused_too(served_sandbox):
    adapter = EsimGo(served_sandbox.url + "/v2.4", SecretStr("wrong-secret-key"), sleep=Waits())
    with pytest.raises(AuthenticationFailed) as caught:
        await adapter.balance()
    assert "wrong-secret-key" not in caught.value.message
    await adapter.aclose()


async def test_an_esim_of_another_account_is_refused_not_a_bad_key(esimgo):
    plan = await plan_named(esimgo)
    stranger = order_for(plan, "STRANGER", iccid="8944000000000000004", status=OrderStatus.DELIVERED)
    with pytest.raises(RequestRejected) as caught:
        await esimgo.esim_status(stranger)
    assert not isinstance(caught.value, AuthenticationFailed) and "not accessible" in caught.value.reason


async def test_the_rate_limit_is_respected_by_waiting_not_by_failing(caplog):
    """Live limits: 10 tokens a second, the catalogue costs 5; the first load needs 10 tokens, and the
    adapter, counting them from the X-Ratelimit headers, waits for the next window before the second
    page instead of meeting a 429. One clock for both sides, moved only by the adapter's waits."""
    import logging
    from datetime import timedelta

    from tests.conftest import T0

    sandbox = make_sandbox(rate_limits=True)
    clock = [0.0]
    limiter = sandbox.providers["esimgo"].rate_limiter
    limiter.monotonic = lambda: clock[0]
    limiter.wall = lambda: T0 + timedelta(seconds=clock[0])
    waited = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock[0] += seconds

    adapter = esimgo_adapter(sandbox, sleep=sleep, monotonic=lambda: clock[0])
    adapter.http.wall = limiter.wall
    caplog.set_level(logging.INFO, logger="esim_tui")
    assert len(await adapter.plans()) > 1000
    assert waited == [pytest.approx(1.0 + adapter.http.MARGIN_SECONDS)]  # the window's end, not a Retry-After
    _, answer, order = await sell(adapter)
    assert len(await adapter.top_up_plans(order)) > 0  # twenty checks, held to the window
    assert all(0 < w <= 1.0 + adapter.http.MARGIN_SECONDS + 1e-9 for w in waited)
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]  # not one 429 met
    await adapter.aclose()
