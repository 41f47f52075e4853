"""eSIM Go's rate limits (a fixed one-second window of 10 tokens per client IP), auth and unknown routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from esim_tui.sandbox.app import IN_PROCESS_URL
from tests.conftest import make_sandbox
from tests.sandbox.test_esimgo_support import KEY, NL_1GB, V, sim

WALL = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
HEADERS = ("X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Cost")


class Stopwatch:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.seconds = 5000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def limited():
    sandbox = make_sandbox(rate_limits=True)
    watch = Stopwatch()
    limiter = sim(sandbox).rate_limiter
    limiter.monotonic = watch
    limiter.wall = lambda: WALL + timedelta(seconds=watch.seconds - 5000.0)
    return sandbox, watch


def client_from(sandbox, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app, client=(ip, 40000)), base_url=IN_PROCESS_URL)


def limits(response: httpx.Response) -> tuple[str, str, str, str]:
    return tuple(response.headers[h] for h in HEADERS)


@pytest.mark.anyio
async def test_the_catalogue_costs_five_of_ten_tokens_a_second(limited):
    sandbox, watch = limited
    async with client_from(sandbox, "10.0.0.1") as client:
        first = await client.get(f"{V}/catalogue", headers=KEY)
        assert first.status_code == 200
        assert limits(first) == ("10", "5", "2026-11-22T12:00:01.000Z", "5")
        watch.seconds += 0.25
        second = await client.get(f"{V}/catalogue", headers=KEY)
        assert second.status_code == 200
        assert limits(second) == ("10", "0", "2026-11-22T12:00:01.000Z", "5")  # the window is fixed: same reset

        watch.seconds += 0.5
        third = await client.get(f"{V}/catalogue", headers=KEY)
        assert third.status_code == 429
        assert third.json() == {"message": "Rate limit exceeded"}
        assert third.headers["Retry-After"] == "1"
        assert limits(third) == ("10", "0", "2026-11-22T12:00:01.000Z", "5")
        cheap = await client.get(f"{V}/organisation", headers=KEY)
        assert cheap.status_code == 429 and cheap.headers["X-Ratelimit-Cost"] == "1"

        watch.seconds += 0.25  # the window has ended
        fresh = await client.get(f"{V}/organisation", headers=KEY)
        assert fresh.status_code == 200
        assert limits(fresh) == ("10", "9", "2026-11-22T12:00:02.000Z", "1")


@pytest.mark.anyio
async def test_ten_cheap_calls_a_second_then_refused(limited):
    sandbox, _watch = limited
    async with client_from(sandbox, "10.0.0.1") as client:
        remaining = []
        for _ in range(10):
            response = await client.get(f"{V}/catalogue/bundle/{NL_1GB}", headers=KEY)
            assert response.status_code == 200
            remaining.append(int(response.headers["X-Ratelimit-Remaining"]))
        assert remaining == list(range(9, -1, -1))
        assert (await client.get(f"{V}/catalogue/bundle/{NL_1GB}", headers=KEY)).status_code == 429


@pytest.mark.anyio
async def test_each_client_ip_has_its_own_window(limited):
    sandbox, _watch = limited
    async with client_from(sandbox, "10.0.0.1") as one, client_from(sandbox, "10.0.0.2") as two:
        for _ in range(2):
            assert (await one.get(f"{V}/catalogue", headers=KEY)).status_code == 200
        assert (await one.get(f"{V}/catalogue", headers=KEY)).status_code == 429
        other = await two.get(f"{V}/catalogue", headers=KEY)
        assert other.status_code == 200 and other.headers["X-Ratelimit-Remaining"] == "5"


@pytest.mark.anyio
async def test_every_answer_carries_the_headers_even_refusals(limited):
    sandbox, _watch = limited
    async with client_from(sandbox, "10.0.0.1") as client:
        for response in (
            await client.get(f"{V}/organisation"),  # no key: 403
            await client.get(f"{V}/catalogue/bundle/esim_nope", headers=KEY),  # 404
            await client.post(f"{V}/orders", content=b"{", headers=KEY),  # 400
            await client.get(f"{V}/no/such/route", headers=KEY),  # 404
        ):
            assert response.status_code in (400, 403, 404)
            assert all(h in response.headers for h in HEADERS)


@pytest.mark.anyio
async def test_without_rate_limits_nothing_is_counted(sandbox_client):
    for _ in range(5):
        response = await sandbox_client.get(f"{V}/catalogue", params={"perPage": 1}, headers=KEY)
        assert response.status_code == 200
    assert not any(h in response.headers for h in HEADERS)


@pytest.mark.anyio
async def test_a_missing_or_wrong_key_is_refused_everywhere(sandbox_client):
    paths = [
        ("GET", "/catalogue"),
        ("GET", f"/catalogue/bundle/{NL_1GB}"),
        ("POST", "/orders"),
        ("GET", "/orders"),
        ("GET", "/orders/x"),
        ("GET", "/esims/assignments?reference=x"),
        ("GET", "/esims/8944000000000000004"),
        ("GET", "/esims/8944000000000000004/bundles"),
        ("GET", f"/esims/8944000000000000004/bundles/{NL_1GB}"),
        ("DELETE", f"/esims/8944000000000000004/bundles/{NL_1GB}"),
        ("GET", f"/esims/8944000000000000004/compatible/{NL_1GB}"),
        ("GET", "/esims/8944000000000000004/history"),
        ("GET", "/organisation"),
    ]
    for method, path in paths:
        for headers in ({}, {"X-API-Key": "not-the-key"}):
            response = await sandbox_client.request(method, f"{V}{path}", headers=headers)
            assert response.status_code == 403, (method, path)
            assert set(response.json()) == {"message"} and "not-the-key" not in response.text


@pytest.mark.anyio
async def test_unknown_routes_and_methods_answer_in_the_envelope(sandbox_client):
    missing = await sandbox_client.get(f"{V}/networks/none", headers=KEY)
    assert missing.status_code == 404 and set(missing.json()) == {"message"}
    wrong = await sandbox_client.put(f"{V}/catalogue", headers=KEY)
    assert wrong.status_code == 405 and set(wrong.json()) == {"message"}
