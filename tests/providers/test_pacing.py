"""eSIM Go allows 10 requests a second: the adapter paces its requests under that, so polling many
orders at once queues in the app instead of meeting 429s (which it would still wait out)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from esim_tui.providers.esimgo import EsimGo, EsimGoHttp
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from tests.conftest import make_sandbox

pytestmark = pytest.mark.anyio


class FakeTime:
    """A monotonic clock that moves only when the adapter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sent_at: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def paced(monkeypatch):
    monkeypatch.setattr(EsimGoHttp, "REQUESTS_PER_SECOND", 8)


async def test_a_burst_of_esimgo_requests_leaves_at_most_eight_a_second(paced):
    sandbox = make_sandbox()
    clock = FakeTime()
    adapter = EsimGo(IN_PROCESS_URL + "/v2.4", SecretStr("sandbox"), transport=sandbox_transport(sandbox), sleep=clock.sleep, monotonic=clock.monotonic)
    original = adapter.http.client.request

    async def timed(*args, **kwargs):
        clock.sent_at.append(clock.now)
        return await original(*args, **kwargs)

    adapter.http.client.request = timed
    try:
        for _ in range(20):  # one after another, as the status panel polls
            await adapter.balance()
        # and together: each request that starts at the same instant gets its own later slot
        waits = [adapter.http._reserve_slot() for _ in range(4)]
    finally:
        await adapter.aclose()
    assert len(clock.sent_at) == 20
    for i in range(len(clock.sent_at) - 8):  # any nine requests in a row span at least a second
        assert clock.sent_at[i + 8] - clock.sent_at[i] >= 1.0 - 1e-9
    assert clock.sent_at[-1] - clock.sent_at[0] == pytest.approx(19 / 8)  # and no slower than that
    assert waits == pytest.approx([0.125, 0.25, 0.375, 0.5])


async def test_octopus_requests_are_not_paced(paced):
    sandbox = make_sandbox()
    clock = FakeTime()
    adapter = OctopusCards(IN_PROCESS_URL, SecretStr("sandbox"), transport=sandbox_transport(sandbox), sleep=clock.sleep, monotonic=clock.monotonic)
    try:
        for _ in range(3):
            await adapter.plans(refresh=True)
    finally:
        await adapter.aclose()
    assert clock.now == 100.0  # nobody waited


async def test_a_fresh_start_spends_the_token_window_as_esimgo_counts_it_and_meets_no_429(caplog):
    """eSIM Go's catalogue costs 5 of the window's 10 tokens: the balance and two catalogue pages at
    start would overdraw it. The adapter reads the X-Ratelimit headers and waits for the next window
    instead, so no 429 is met and nothing is logged as a retry or a warning."""
    import asyncio
    import logging

    sandbox = make_sandbox(rate_limits=True)  # as the app's own sandbox: eSIM Go's limits on
    statuses: list[int] = []
    adapter = EsimGo(IN_PROCESS_URL + "/v2.4", SecretStr("sandbox"), transport=sandbox_transport(sandbox))
    original = adapter.http.client.request

    async def counted(*args, **kwargs):
        response = await original(*args, **kwargs)
        statuses.append(response.status_code)
        return response

    adapter.http.client.request = counted
    caplog.set_level(logging.INFO, logger="esim_tui")
    try:
        balance, plans = await asyncio.gather(adapter.balance(), adapter.plans())
        await adapter.balance()
    finally:
        await adapter.aclose()
    assert balance is not None and plans
    assert len(statuses) >= 4 and set(statuses) == {200}  # two catalogue pages among them, no 429
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or "retrying" in r.getMessage()]


async def test_retries_that_run_out_are_a_warning(caplog):
    import logging

    sandbox = make_sandbox(rate_limits=True)
    clock = FakeTime()
    adapter = EsimGo(IN_PROCESS_URL + "/v2.4", SecretStr("sandbox"), transport=sandbox_transport(sandbox), sleep=clock.sleep, monotonic=clock.monotonic)
    sandbox.providers["esimgo"].rate_limiter.monotonic = lambda: 0.0  # its window never turns: every retry meets a 429
    adapter.http._note_tokens = lambda path, response: None  # and the adapter does not see it coming
    caplog.set_level(logging.INFO, logger="esim_tui")
    try:
        with pytest.raises(Exception) as failure:
            for _ in range(20):
                await adapter.balance()
    finally:
        await adapter.aclose()
    assert type(failure.value).__name__ == "RateLimited"
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert retries and all(r.levelno == logging.INFO for r in retries)
    assert [w.getMessage() for w in warnings] == ["esimgo: a read still failed after 4 attempt(s) (RateLimited)"]
