"""Octopus faults and scenarios: what the client sees, and what the ledger proves was charged."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from esim_tui import jsonnum
from esim_tui.sandbox import core
from esim_tui.sandbox.octopus import world as octopus
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from tests.conftest import make_sandbox

AUTH = {"Authorization": "Bearer sandbox"}
ORDERS = "/api/v1/esim/orders"


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL, headers=AUTH) as client:
        yield client


def body(response: httpx.Response) -> Any:
    return jsonnum.loads(response.content)


async def place(api: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    payload = {"product_id": 712, "amount": Decimal("4.50"), "quantity": 1, **fields}
    return await api.post(ORDERS, content=jsonnum.dumps(payload))


async def book(api: httpx.AsyncClient, kind: str, endpoint: str = "create_order", **params: Any) -> None:
    r = await api.post("/_sandbox/faults", json={"provider": "octopus", "endpoint": endpoint, "kind": kind, **params})
    assert r.status_code == 200, r.text


async def charges(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await api.get("/_sandbox/ledger")).json()["octopus"]["charges"]


# ================================================================ the shared wrapper on create_order


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["rate_limit", "error_503", "drop_before_commit"])
async def test_before_commit_faults_charge_nothing_and_a_retry_places_the_order(api: httpx.AsyncClient, kind: str) -> None:
    await book(api, kind)
    if kind == "drop_before_commit":
        with pytest.raises(httpx.RemoteProtocolError):
            await place(api, client_reference="RETRY-ME")
    else:
        r = await place(api, client_reference="RETRY-ME")
        assert r.status_code == (429 if kind == "rate_limit" else 503)
        assert r.headers["Retry-After"] == "1"
        assert set(body(r)["error"]) == {"name", "code", "message"}
    assert await charges(api) == []
    # Nothing reached the provider, so the same reference is still free.
    r = await place(api, client_reference="RETRY-ME")
    assert r.status_code == 200 and body(r)["data"]["status"] == "DELIVERED"
    assert [c["client_reference"] for c in await charges(api)] == ["RETRY-ME"]


@pytest.mark.anyio
async def test_rate_limit_envelope_and_retry_after(api: httpx.AsyncClient) -> None:
    await book(api, "rate_limit", retry_after="7")
    r = await place(api)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert body(r) == {"error": {"name": "TooManyRequestsError", "code": "RATE_LIMITED", "message": "Rate limit exceeded"}}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["error_500_after_commit", "drop_after_commit", "malformed_json"])
async def test_after_commit_faults_charge_exactly_once_and_the_reference_finds_the_order(api: httpx.AsyncClient, kind: str) -> None:
    await book(api, kind)
    if kind == "drop_after_commit":
        with pytest.raises(httpx.RemoteProtocolError):
            await place(api, client_reference="LANDED")
    else:
        r = await place(api, client_reference="LANDED")
        if kind == "error_500_after_commit":
            assert r.status_code == 500
            assert body(r)["error"]["name"] == "InternalServerError"
        else:
            assert r.status_code == 200
            with pytest.raises(ValueError):
                jsonnum.loads(r.content)
    assert len(await charges(api)) == 1
    # The documented recovery: re-POST with the same reference, get the duplicate, look it up.
    again = await place(api, client_reference="LANDED")
    assert again.status_code == 400 and body(again)["error"]["message"] == "Duplicate client_reference"
    found = body(await api.get(ORDERS, params={"client_reference": "LANDED"}))
    assert len(found) == 1 and found[0]["status"] == "DELIVERED"
    detail = body(await api.get(f"{ORDERS}/{found[0]['id']}"))["data"]
    assert detail["activation_code"].startswith("LPA:1$")  # the code was not lost with the answer
    assert [(c["order_id"], c["amount"], c["refunded"]) for c in await charges(api)] == [(str(found[0]["id"]), "4.275", False)]


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["truncated", "html", "invalid_utf8"])
async def test_malformed_json_shapes(api: httpx.AsyncClient, shape: str) -> None:
    await book(api, "malformed_json", body=shape)
    r = await place(api)
    assert r.status_code == 200
    with pytest.raises((ValueError, UnicodeDecodeError)):
        jsonnum.loads(r.content)
    assert len(await charges(api)) == 1


@pytest.mark.anyio
async def test_a_delay_charges_at_once_and_only_the_answer_is_late(api: httpx.AsyncClient) -> None:
    await book(api, "delay", seconds=0.6)
    started = time.monotonic()
    answer = asyncio.create_task(place(api, client_reference="LATE"))
    await asyncio.sleep(0.2)
    assert not answer.done()
    assert [c["client_reference"] for c in await charges(api)] == ["LATE"]  # already charged
    r = await answer
    assert time.monotonic() - started >= 0.6
    assert r.status_code == 200 and body(r)["data"]["status"] == "DELIVERED"
    assert len(await charges(api)) == 1


@pytest.mark.anyio
async def test_a_fault_with_a_count_applies_that_many_times(api: httpx.AsyncClient) -> None:
    await book(api, "error_503", count=2)
    assert [(await place(api)).status_code for _ in range(3)] == [503, 503, 200]


@pytest.mark.anyio
async def test_a_fault_for_another_endpoint_leaves_create_alone(api: httpx.AsyncClient) -> None:
    await book(api, "error_503", endpoint="get_order")
    assert (await place(api)).status_code == 200
    assert (await api.get(f"{ORDERS}/9302481")).status_code == 503


# ================================================================ every endpoint carries its fault name

ENDPOINTS = [
    ("list_products", "GET", "/api/v1/esim/products", None),
    ("get_product", "GET", "/api/v1/esim/products/712", None),
    ("list_variants", "GET", "/api/v1/esim/products/712/variants", None),
    ("get_variant", "GET", "/api/v1/esim/variants/5511", None),
    ("create_order", "POST", ORDERS, {"product_id": 712, "amount": 4.5}),
    ("get_order", "GET", f"{ORDERS}/9302481", None),
    ("list_orders", "GET", ORDERS, None),
    ("notification_email", "PATCH", f"{ORDERS}/9302481/notification-email", {"email": "a@example.com"}),
    ("login", "POST", "/auth/login", {"client_id": "c", "client_secret": "sandbox"}),
    ("refresh", "POST", "/auth/refresh", {"refresh_token": "nope"}),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("endpoint", "method", "path", "payload"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
async def test_each_endpoint_takes_the_faults_booked_under_its_name(api: httpx.AsyncClient, endpoint: str, method: str, path: str, payload: Any) -> None:
    await place(api)  # order 9302481 exists
    await book(api, "rate_limit", endpoint=endpoint)
    r = await api.request(method, path, json=payload)
    assert r.status_code == 429 and body(r)["error"]["code"] == "RATE_LIMITED"
    await book(api, "drop_before_commit", endpoint=endpoint)
    with pytest.raises(httpx.RemoteProtocolError):
        await api.request(method, path, json=payload)
    await book(api, "error_500_after_commit", endpoint=endpoint)
    assert (await api.request(method, path, json=payload)).status_code == 500
    r = await api.request(method, path, json=payload)
    assert r.status_code not in (429, 500)


# ================================================================ over real HTTP


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "charged"), [("drop_before_commit", 0), ("drop_after_commit", 1)])
def test_a_dropped_connection_is_a_transport_error_over_real_http(served_sandbox, kind: str, charged: int) -> None:
    with httpx.Client(base_url=served_sandbox.url, headers=AUTH, timeout=10) as client:
        r = client.post("/_sandbox/faults", json={"provider": "octopus", "endpoint": "create_order", "kind": kind})
        assert r.status_code == 200
        with pytest.raises(httpx.TransportError):
            client.post(ORDERS, json={"product_id": 712, "amount": 4.5, "client_reference": "WIRE"})
        ledger = client.get("/_sandbox/ledger").json()["octopus"]["charges"]
        assert len(ledger) == charged
        again = client.post(ORDERS, json={"product_id": 712, "amount": 4.5, "client_reference": "WIRE"})
        assert again.status_code == (400 if charged else 200)
        assert len(client.get("/_sandbox/ledger").json()["octopus"]["charges"]) == 1


# ================================================================ scenarios


async def _client(sandbox: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL, headers=AUTH)


@pytest.mark.anyio
async def test_pending_scenario_answers_pending_and_delivers_after_60_seconds() -> None:
    sandbox = make_sandbox(scenario="pending")
    async with await _client(sandbox) as api:
        order = body(await place(api))["data"]
        assert order["status"] == "PENDING" and "activation_code" not in order
        await api.post("/_sandbox/clock", json={"advance_seconds": 59})
        assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["status"] == "PENDING"
        await api.post("/_sandbox/clock", json={"advance_seconds": 1})
        assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["status"] == "DELIVERED"


@pytest.mark.anyio
async def test_failing_scenario_fails_every_order_user_fixably_and_refunds() -> None:
    sandbox = make_sandbox(scenario="failing")
    async with await _client(sandbox) as api:
        for _ in range(3):
            r = await place(api)
            order = body(r)["data"]
            assert r.status_code == 200
            assert (order["status"], order["failure_code"], order["is_user_fixable"]) == ("FAILED", "PLAN_UNAVAILABLE", True)
        assert [c["refunded"] for c in await charges(api)] == [True, True, True]
        assert Decimal((await api.get("/_sandbox/ledger")).json()["octopus"]["balance"]) == Decimal("5000.00")


@pytest.mark.anyio
async def test_a_booked_fault_wins_over_the_scenario() -> None:
    sandbox = make_sandbox(scenario="failing")
    async with await _client(sandbox) as api:
        await book(api, "pending")
        assert body(await place(api))["data"]["status"] == "PENDING"
        assert body(await place(api))["data"]["status"] == "FAILED"


@pytest.mark.anyio
async def test_slow_scenario_charges_at_once_and_answers_after_three_seconds() -> None:
    sandbox = make_sandbox(scenario="slow")
    async with await _client(sandbox) as api:
        started = time.monotonic()
        answer = asyncio.create_task(place(api, client_reference="SLOW"))
        await asyncio.sleep(0.3)
        assert not answer.done()
        assert [c["client_reference"] for c in await charges(api)] == ["SLOW"]
        r = await answer
        assert time.monotonic() - started >= 3.0
        assert body(r)["data"]["status"] == "DELIVERED"


def test_realistic_mix_shares() -> None:
    rng = random.Random(5)
    outcomes = [octopus.realistic_outcome(rng) for _ in range(20_000)]
    kinds = Counter("slow" if o.answer_delay else o.kind for o in outcomes)
    shares = {k: n / len(outcomes) for k, n in kinds.items()}
    assert shares["deliver"] == pytest.approx(0.80, abs=0.015)
    assert shares["pending"] == pytest.approx(0.12, abs=0.01)
    assert shares["fail"] == pytest.approx(0.05, abs=0.007)
    assert shares["slow"] == pytest.approx(0.03, abs=0.006)
    assert all(20 <= o.pending_seconds <= 120 for o in outcomes if o.kind == "pending")
    assert all(2 <= o.answer_delay <= 4 for o in outcomes if o.answer_delay)
    assert all(o.failure == octopus.PLAN_UNAVAILABLE for o in outcomes if o.kind == "fail")


async def _realistic_run(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[float], Sandbox]:
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(core, "answer_later", no_wait)  # keep the test fast; the real wait is tested above
    sandbox = make_sandbox(scenario="realistic")
    async with await _client(sandbox) as api:
        statuses = [body(await place(api, client_reference=f"R{n}"))["data"]["status"] for n in range(200)]
    return statuses, delays, sandbox


@pytest.mark.anyio
async def test_realistic_scenario_mixes_outcomes_reproducibly(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses, delays, sandbox = await _realistic_run(monkeypatch)
    counts = Counter(statuses)
    assert set(counts) == {"DELIVERED", "PENDING", "FAILED"}
    assert counts["DELIVERED"] > 130 and counts["PENDING"] > 5 and counts["FAILED"] > 2
    assert delays and all(2 <= d <= 4 for d in delays)
    assert (await _realistic_run(monkeypatch))[0] == statuses  # same seed, same story

    async with await _client(sandbox) as api:
        await api.post("/_sandbox/clock", json={"advance_seconds": 120})
        after = [o["status"] for o in body(await api.get(ORDERS, params={"per_page": 500}))]
        assert Counter(after) == {"DELIVERED": counts["DELIVERED"] + counts["PENDING"], "FAILED": counts["FAILED"]}
        ledger = (await api.get("/_sandbox/ledger")).json()["octopus"]
        assert len(ledger["charges"]) == 200
        assert sum(c["refunded"] for c in ledger["charges"]) == counts["FAILED"]
        kept = sum(Decimal(c["amount"]) for c in ledger["charges"] if not c["refunded"])
        assert Decimal(ledger["balance"]) == Decimal("5000.00") - kept
