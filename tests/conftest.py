"""Shared fixtures: the sandbox in-process and served on a loopback port, a fixed clock, isolated config."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from esim_tui.sandbox.core import SandboxConfig

#: Simulated time at the start of every test sandbox.
T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Never read the developer's own config or provider credentials."""
    for var in ("ESIM_TUI_CONFIG", "ESIM_TUI_OCTOPUS_URL", "ESIM_TUI_OCTOPUS_TOKEN", "ESIM_TUI_ESIMGO_URL", "ESIM_TUI_ESIMGO_API_KEY", "ESIM_TUI_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests are not paced under eSIM Go's rate limit here: the tests record every wait an adapter
    chooses, and a burst would add pacing waits to them. tests/providers/test_pacing.py paces."""
    from esim_tui.providers.esimgo import EsimGoHttp

    monkeypatch.setattr(EsimGoHttp, "REQUESTS_PER_SECOND", None)


def make_sandbox(**overrides) -> Sandbox:
    """A sandbox with frozen time (speed 0) at T0 and no rate limiting unless asked for.

    Time moves only through `POST /_sandbox/clock`.
    """
    config = SandboxConfig(**{"speed": 0.0, "start": T0, "rate_limits": False, **overrides})
    return Sandbox(config)


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
async def sandbox_client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on the in-process sandbox (no auth header set)."""
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        yield client


class ServedSandbox:
    """A sandbox served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, sandbox: Sandbox) -> None:
        import uvicorn

        self.sandbox = sandbox
        config = uvicorn.Config(sandbox.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def __enter__(self) -> ServedSandbox:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        else:
            raise RuntimeError("sandbox server did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def served_sandbox(sandbox: Sandbox) -> Iterator[ServedSandbox]:
    """The same sandbox as the ``sandbox`` fixture, reachable over real HTTP on loopback."""
    with ServedSandbox(sandbox) as served:
        yield served
