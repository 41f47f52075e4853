"""Faults a drill books on the simulated eSIM Go, and the scenarios: what the client sees, and what the
ledger says was charged (eSIM Go has no idempotency key, so a client recovers by listing orders)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from esim_tui.sandbox import core, esimgo
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from tests.conftest import make_sandbox
from tests.sandbox.test_esimgo_support import (
    KEY,
    NL_1GB,
    V,
    add_fault,
    advance,
    body,
    bundle,
    buy_one,
    ledger,
    line,
    post_order,
)

ENDPOINTS = (
    "catalogue",
    "catalogue_bundle",
    "create_order",
    "list_orders",
    "get_order",
    "assignments",
    "get_esim",
    "esim_bundles",
    "esim_bundle",
    "compatible",
    "esim_history",
    "revoke_bundle",
    "revoke_assignment",
    "organisation",
)


async def call(client: httpx.AsyncClient, endpoint: str, iccid: str, reference: str, assignment_id: str) -> httpx.Response:
    """One request to ``endpoint`` that succeeds when no fault is booked."""
    esim = f"{V}/esims/{iccid}"
    requests = {
        "catalogue": ("GET", f"{V}/catalogue"),
        "catalogue_bundle": ("GET", f"{V}/catalogue/bundle/{NL_1GB}"),
        "list_orders": ("GET", f"{V}/orders"),
        "get_order": ("GET", f"{V}/orders/{reference}"),
        "assignments": ("GET", f"{V}/esims/assignments?reference={reference}"),
        "get_esim": ("GET", esim),
        "esim_bundles": ("GET", f"{esim}/bundles"),
        "esim_bundle": ("GET", f"{esim}/bundles/{NL_1GB}"),
        "compatible": ("GET", f"{esim}/compatible/{NL_1GB}"),
        "esim_history": ("GET", f"{esim}/history"),
        "revoke_bundle": ("DELETE", f"{esim}/bundles/{NL_1GB}?type=validate"),
        "revoke_assignment": ("DELETE", f"{esim}/bundles/{NL_1GB}/assignments/{assignment_id}?type=validate"),
        "organisation": ("GET", f"{V}/organisation"),
    }
    if endpoint == "create_order":
        return await post_order(client, "validate")
    method, url = requests[endpoint]
    return await client.request(method, url, headers=KEY)


async def orders(client: httpx.AsyncClient) -> list[dict]:
    return body(await client.get(f"{V}/orders", params={"includeIccids": "true", "limit": 1000}, headers=KEY))["orders"]


@pytest.mark.anyio
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_every_endpoint_takes_the_shared_faults(sandbox_client, endpoint):
    iccid, order = await buy_one(sandbox_client)
    assignment_id = (await sandbox_client.get(f"{V}/esims/{iccid}/bundles/{NL_1GB}", headers=KEY)).json()["assignments"][0]["id"]
    args = (iccid, order["orderReference"], assignment_id)
    await add_fault(sandbox_client, endpoint, "error_503", retry_after="4")
    refused = await call(sandbox_client, endpoint, *args)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "4" and set(refused.json()) == {"message"}
    await add_fault(sandbox_client, endpoint, "error_500_after_commit")
    assert (await call(sandbox_client, endpoint, *args)).status_code == 500
    assert (await call(sandbox_client, endpoint, *args)).status_code == 200  # each fault was for one call


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "status"), [("error_503", 503), ("rate_limit", 429)])
async def test_refusals_before_commit_charge_nothing(sandbox_client, kind, status):
    before = await ledger(sandbox_client)
    await add_fault(sandbox_client, "create_order", kind, retry_after="2")
    response = await post_order(sandbox_client, "transaction", line())
    assert response.status_code == status and response.headers["Retry-After"] == "2"
    assert set(response.json()) == {"message"}
    assert await ledger(sandbox_client) == before and await orders(sandbox_client) == []


@pytest.mark.anyio
async def test_a_drop_before_commit_charges_nothing(sandbox_client):
    before = await ledger(sandbox_client)
    await add_fault(sandbox_client, "create_order", "drop_before_commit")
    with pytest.raises(httpx.RemoteProtocolError):
        await post_order(sandbox_client, "transaction", line())
    assert await ledger(sandbox_client) == before and await orders(sandbox_client) == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["drop_after_commit", "error_500_after_commit", "malformed_json"])
async def test_failures_after_commit_charge_exactly_once_and_the_order_can_be_found(sandbox, sandbox_client, kind):
    price = bundle(sandbox, NL_1GB).price
    before = await ledger(sandbox_client)
    await add_fault(sandbox_client, "create_order", kind)
    try:
        response = await post_order(sandbox_client, "transaction", line())
    except httpx.RemoteProtocolError:
        assert kind == "drop_after_commit"
    else:
        if kind == "error_500_after_commit":
            assert response.status_code == 500 and set(response.json()) == {"message"}
        else:
            assert response.status_code == 200
            with pytest.raises(ValueError):
                response.json()
    after = await ledger(sandbox_client)
    assert after["balance"] == before["balance"] - price
    (charge,) = after["charges"]
    (found,) = await orders(sandbox_client)  # how a client learns what happened
    assert charge["order_id"] == found["orderReference"] and found["status"] == "completed"
    assert found["order"][0]["item"] == NL_1GB and len(found["order"][0]["iccids"]) == 1


@pytest.mark.anyio
async def test_a_delayed_answer_is_committed_and_whole(sandbox, sandbox_client):
    await add_fault(sandbox_client, "create_order", "delay", seconds=0.05)
    response = await post_order(sandbox_client, "transaction", line())
    assert response.status_code == 200 and body(response)["status"] == "completed"
    assert len((await ledger(sandbox_client))["charges"]) == 1


@pytest.mark.anyio
async def test_a_pending_order_is_charged_then_completes_on_simulated_time(sandbox, sandbox_client):
    price = bundle(sandbox, NL_1GB).price
    await add_fault(sandbox_client, "create_order", "pending", seconds=120)
    response = await post_order(sandbox_client, "transaction", line())
    assert response.status_code == 200
    order = body(response)
    reference = order["orderReference"]
    assert order["status"] == "processing" and order["order"][0]["esims"] == []
    assert (await ledger(sandbox_client))["charges"][0]["order_id"] == reference

    waiting = await sandbox_client.get(f"{V}/esims/assignments", params={"reference": reference}, headers=KEY)
    assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "120"
    await advance(sandbox_client, 119)
    assert body(await sandbox_client.get(f"{V}/orders/{reference}", headers=KEY))["status"] == "processing"
    await advance(sandbox_client, 1)
    done = body(await sandbox_client.get(f"{V}/orders/{reference}", headers=KEY))
    assert done["status"] == "completed" and done["statusMessage"] == "Order completed: 1 eSIMs assigned"
    (esim,) = done["order"][0]["esims"]
    ready = await sandbox_client.get(f"{V}/esims/assignments", params={"reference": reference}, headers=KEY)
    assert ready.status_code == 200 and esim["iccid"] in ready.text
    after = await ledger(sandbox_client)
    assert len(after["charges"]) == 1 and after["balance"] == Decimal("5000.00") - price


@pytest.mark.anyio
async def test_a_pending_order_that_fails_is_refunded(sandbox_client):
    await add_fault(sandbox_client, "create_order", "pending", seconds=30, failure_reason="Bundle no longer available")
    reference = body(await post_order(sandbox_client, "transaction", line()))["orderReference"]
    await advance(sandbox_client, 30)
    failed = body(await sandbox_client.get(f"{V}/orders/{reference}", headers=KEY))
    assert failed["status"] == "failed" and failed["statusMessage"] == "Order failed: Bundle no longer available"
    assert failed["order"][0]["esims"] == []
    after = await ledger(sandbox_client)
    assert after["balance"] == Decimal("5000.00") and after["charges"][0]["refunded"] is True


@pytest.mark.anyio
async def test_a_failing_order_is_refused_and_charges_nothing(sandbox_client):
    await add_fault(sandbox_client, "create_order", "fail", failure_reason="Bundle no longer available")
    # A validation does not use up the booked failure.
    assert (await post_order(sandbox_client, "validate", line())).status_code == 200
    response = await post_order(sandbox_client, "transaction", line())
    assert response.status_code == 400 and response.json() == {"message": "Bundle no longer available"}
    assert (await ledger(sandbox_client))["charges"] == []
    assert (await post_order(sandbox_client, "transaction", line())).status_code == 200  # used up


def scenario_client(scenario: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sandbox_transport(make_sandbox(scenario=scenario)), base_url=IN_PROCESS_URL)


@pytest.mark.anyio
async def test_the_failing_scenario_refuses_every_order():
    async with scenario_client("failing") as client:
        response = await post_order(client, "transaction", line())
        assert response.status_code == 400 and "unavailable" in response.json()["message"]
        assert (await ledger(client))["charges"] == []


@pytest.mark.anyio
async def test_the_pending_scenario_answers_processing():
    async with scenario_client("pending") as client:
        order = body(await post_order(client, "transaction", line()))
        assert order["status"] == "processing"
        await advance(client, esimgo.PENDING_SECONDS)
        assert body(await client.get(f"{V}/orders/{order['orderReference']}", headers=KEY))["status"] == "completed"


@pytest.mark.anyio
async def test_the_slow_scenario_commits_then_answers_late(monkeypatch):
    waits: list[float] = []

    async def later(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(core, "answer_later", later)
    async with scenario_client("slow") as client:
        assert (await post_order(client, "transaction", line())).status_code == 200
        assert waits == [esimgo.SLOW_ANSWER_SECONDS]
        assert len((await ledger(client))["charges"]) == 1


@pytest.mark.anyio
async def test_the_realistic_scenario_mixes_outcomes_and_charges_only_what_it_accepts(monkeypatch):
    async def at_once(seconds: float) -> None:
        return None

    monkeypatch.setattr(core, "answer_later", at_once)
    statuses: list[int] = []
    async with scenario_client("realistic") as client:
        for _ in range(40):
            statuses.append((await post_order(client, "transaction", line())).status_code)
        accepted = await orders(client)
        charges = (await ledger(client))["charges"]
        states = {o["status"] for o in accepted}
        bundle_states = set()
        for o in accepted:
            for iccid in o["order"][0]["iccids"]:
                (a,) = (await client.get(f"{V}/esims/{iccid}/bundles/{NL_1GB}", headers=KEY)).json()["assignments"]
                bundle_states.add(a["bundleState"])
    assert set(statuses) == {200, 400}  # some refused outright
    assert {"completed", "processing"} <= states
    assert "processing" in bundle_states  # assignments take a little while in this scenario
    assert sorted(c["order_id"] for c in charges) == sorted(o["orderReference"] for o in accepted)
    assert len(accepted) == statuses.count(200)
