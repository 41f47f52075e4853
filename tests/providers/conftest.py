"""An Octopus Cards adapter on the sandbox, in-process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from tests.conftest import ServedSandbox


class Waits(list):
    """A stand-in for asyncio.sleep that records how long the adapter chose to wait."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture(params=["in-process", "loopback"])
async def octopus(request, sandbox: Sandbox, waits: Waits) -> AsyncIterator[OctopusCards]:
    if request.param == "in-process":
        adapter = OctopusCards(IN_PROCESS_URL, SecretStr("sandbox"), transport=sandbox_transport(sandbox), sleep=waits, deadline=2.0)
        yield adapter
        await adapter.aclose()
    else:
        with ServedSandbox(sandbox) as served:
            adapter = OctopusCards(served.url, SecretStr("sandbox"), sleep=waits, deadline=2.0)
            yield adapter
            await adapter.aclose()


async def control(sandbox: Sandbox, method: str, path: str, json: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        return await client.request(method, path, json=json)


async def ledger(sandbox: Sandbox, provider: str = "octopus") -> dict:
    return (await control(sandbox, "GET", "/_sandbox/ledger")).json()[provider]


async def fault(sandbox: Sandbox, **body) -> None:
    response = await control(sandbox, "POST", "/_sandbox/faults", {"provider": "octopus", **body})
    assert response.status_code == 200, response.text
