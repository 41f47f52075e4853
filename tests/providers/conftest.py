"""An Octopus Cards adapter on the sandbox, in-process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.providers.esimgo import EsimGo
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from tests.conftest import ServedSandbox

#: Sandbox faults that leave a create's outcome unknown to the adapter: (kind, extra fields, charges made).
AMBIGUOUS_CREATES = [
    ("error_500_after_commit", {}, 1),
    ("drop_after_commit", {}, 1),
    ("drop_before_commit", {}, 0),
    ("malformed_json", {"body": "truncated"}, 1),
    ("malformed_json", {"body": "html"}, 1),
    ("malformed_json", {"body": "invalid_utf8"}, 1),
    ("delay", {"seconds": 3}, 1),
]


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


# ---------------------------------------------------------------- eSIM Go

ESIMGO_PATH = "/v2.4"


def esimgo_adapter(sandbox: Sandbox, waits: Waits | None = None, *, key: str = "sandbox", transport=None, **options) -> EsimGo:
    """The eSIM Go adapter on the in-process sandbox (``transport`` to watch or bend its requests)."""
    options.setdefault("sleep", waits if waits is not None else Waits())
    options.setdefault("deadline", 2.0)
    return EsimGo(IN_PROCESS_URL + ESIMGO_PATH, SecretStr(key), transport=transport or sandbox_transport(sandbox), **options)


@pytest.fixture
async def esimgo(sandbox: Sandbox, waits: Waits) -> AsyncIterator[EsimGo]:
    adapter = esimgo_adapter(sandbox, waits)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def esimgo_served(served_sandbox: ServedSandbox, waits: Waits) -> AsyncIterator[EsimGo]:
    """The adapter over real HTTP on loopback, as configured by ESIM_TUI_ESIMGO_URL."""
    adapter = EsimGo(served_sandbox.url + ESIMGO_PATH, SecretStr("sandbox"), sleep=waits, deadline=5.0)
    yield adapter
    await adapter.aclose()


async def esimgo_fault(sandbox: Sandbox, **body) -> None:
    await fault(sandbox, provider="esimgo", **body)


class Recording(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox and keeps (method, path, query) of each."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.inner = sandbox_transport(sandbox)
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path.removeprefix(ESIMGO_PATH), dict(request.url.params)))
        return await self.inner.handle_async_request(request)

    def paths(self, method: str = "GET") -> list[str]:
        return [path for m, path, _ in self.requests if m == method]
