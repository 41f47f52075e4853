"""Network drills on real sockets: a server that drips its answer, and one that resets after the request.

httpx's read timeout is per chunk: a server sending one byte now and then never trips it. Only the
adapter's overall deadline ends such a request; for an order that is "outcome unknown", never failed.
A connection reset after the request was read may come after the provider charged: the order is
looked up by its reference before anything else, and the ledger shows one charge.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.domain.errors import ConnectionLost, OutcomeUnknown, ProviderTimeout
from esim_tui.domain.orders import OrderStatus
from esim_tui.domain.plans import ProviderName
from esim_tui.providers.octopus import OctopusCards
from esim_tui.services.ordering import Sales
from esim_tui.store.orders import OrderStore
from tests.conftest import ServedSandbox
from tests.drills import charges
from tests.drills.servers import DripServer, ResetProxy
from tests.store_helpers import sample_plan

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

DRIP_EVERY = 0.02  # seconds between bytes: far inside the read timeout
READ_TIMEOUT = 0.25
DEADLINE = 0.5
MARGIN = 0.75  # scheduling slack on a busy 2-core CI machine
TIMEOUT = httpx.Timeout(connect=1.0, read=READ_TIMEOUT, write=1.0, pool=1.0)


async def no_wait(seconds: float) -> None:
    """Back-offs take no time here: the drills measure the deadline, not the waits."""


def octopus(url: str, **options) -> OctopusCards:
    return OctopusCards(url, SecretStr("sandbox"), timeout=TIMEOUT, deadline=DEADLINE, sleep=no_wait, **options)


async def test_without_a_deadline_httpx_keeps_reading_a_dripping_answer() -> None:
    """The control: the same timeouts on a bare httpx client do not end the request (per-chunk read)."""
    with DripServer(DRIP_EVERY) as server:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            with pytest.raises(TimeoutError):  # our own stopwatch, not httpx.ReadTimeout
                async with asyncio.timeout(3 * DEADLINE):
                    await client.get(server.url + "/api/v1/esim/products")
        assert len(server.requests) == 1


async def test_the_deadline_ends_an_order_on_a_dripping_server_as_outcome_unknown() -> None:
    with DripServer(DRIP_EVERY) as server:
        adapter = octopus(server.url)
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown) as caught:
            await adapter.place_order(sample_plan(), "DRILL-DRIP-1")
        took = time.monotonic() - started
        await adapter.aclose()
    assert DEADLINE * 0.9 <= took < DEADLINE + MARGIN
    assert isinstance(caught.value.cause, ProviderTimeout)
    assert "do not know yet" in caught.value.message and "Do not sell it again" in caught.value.message
    assert server.requests == [("POST", "/api/v1/esim/orders")]  # sent once: a create is never re-sent blindly


async def test_a_catalogue_read_from_a_dripping_server_fails_cleanly_within_the_deadline() -> None:
    with DripServer(DRIP_EVERY) as server:
        adapter = octopus(server.url, read_attempts=1)
        started = time.monotonic()
        with pytest.raises(ProviderTimeout) as caught:
            await adapter.plans()
        took = time.monotonic() - started
        await adapter.aclose()
    assert took < DEADLINE + MARGIN
    assert caught.value.message == "Octopus Cards did not answer in time. Try again in a moment."


async def test_catalogue_retries_on_a_dripping_server_are_bounded(tmp_path) -> None:
    """With retries, each attempt has the deadline and the attempts are counted: the counter gets the
    other providers' plans and a clear error for this one, in attempts x deadline."""
    with DripServer(DRIP_EVERY) as server:
        adapter = octopus(server.url, read_attempts=3)
        with OrderStore.open(tmp_path / "orders.json") as store:
            started = time.monotonic()
            load = await Sales({ProviderName.OCTOPUS: adapter}, store).load_catalogue()
            took = time.monotonic() - started
        await adapter.aclose()
    assert isinstance(load.errors[ProviderName.OCTOPUS], ProviderTimeout)
    assert len(server.requests) == 3
    assert took < 3 * DEADLINE + MARGIN


@pytest.mark.parametrize("after_commit", [True, False], ids=["reset after the charge", "reset before the charge"])
async def test_a_reset_create_is_outcome_unknown_and_sales_finds_or_resends_it_once(served_sandbox: ServedSandbox, tmp_path, after_commit: bool) -> None:
    reference = "DRILL-RESET-1"
    with ResetProxy(served_sandbox.url, resets=1, after_commit=after_commit) as proxy:
        adapter = octopus(proxy.url)
        with pytest.raises(OutcomeUnknown) as caught:  # the adapter alone: unknown, never a failure
            await adapter.place_order(sample_plan(), reference)
        assert isinstance(caught.value.cause, ConnectionLost)
        assert len(charges(served_sandbox.url)) == (1 if after_commit else 0)

        proxy.resets_left = 1  # the sale through Sales meets the same fault
        with OrderStore.open(tmp_path / "orders.json") as store:
            sales = Sales({ProviderName.OCTOPUS: adapter}, store, sleep=no_wait)
            order = await sales.place(await sales.open_sale(sample_plan(), None, client_reference=reference + "-SALE"))
            saved = store.get(order.id)
        await adapter.aclose()
    assert order.status is OrderStatus.DELIVERED and order.activation_code and order == saved
    events = [c.event for c in order.history]
    assert "OUTCOME UNKNOWN" in events and "FAILED" not in events
    paid = charges(served_sandbox.url, reference + "-SALE")
    assert len(paid) == 1 and paid[0]["order_id"] == order.provider_order_id
    creates = [r for r in proxy.requests if r == ("POST", "/api/v1/esim/orders")]
    lookups = [r for r in proxy.requests if r == ("GET", "/api/v1/esim/orders")]
    assert lookups, "Sales did not look the order up"
    # After the charge the lookup finds it; before it, the same reference is sent once more.
    assert len(creates) == (2 if after_commit else 3)
