"""The sandbox as one ASGI application: both simulated providers plus the control endpoints.

Served on a port by ``esim-tui sandbox``, or mounted in-process (``in_process_client``) when no real
provider is configured, so a fresh machine sells eSIMs with no account and no server to start.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from esim_tui import jsonnum
from esim_tui.sandbox.clock import SimClock
from esim_tui.sandbox.core import (
    SCENARIOS,
    ConnectionDropped,
    JSONResponse,
    SandboxConfig,
    SandboxState,
    SimulatedProvider,
)
from esim_tui.sandbox.faults import Fault, FaultKind
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.persist import FORMAT, VERSION, StateFile, StateUnreadable, state_file_beside, when

__all__ = ["IN_PROCESS_URL", "Sandbox", "sandbox_transport", "state_file_beside"]


def _wall_clock() -> datetime:
    """The real time, for how long the app was closed. A seam for tests."""
    return datetime.now(UTC)


class Sandbox:
    """The simulated world: a clock, a fault book, and the providers that live in it.

    With a ``state_file`` the world outlives the process: it is loaded from the file when there is one
    and saved to it after every request that changed it (orders, eSIMs, data used, the ledger, the
    clock moved on, faults), so sales made before a restart can still be followed, topped up and
    refunded. The catalogue always comes from the seed. An unusable file is renamed aside and the
    sandbox starts fresh. Without one (the default, and the served sandbox) it lives in memory only.
    """

    def __init__(self, config: SandboxConfig | None = None, *, state_file: Path | str | None = None) -> None:
        self.config = config or SandboxConfig()
        if self.config.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.config.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        self.state_file = Path(state_file) if state_file is not None else None
        self._file = StateFile(self.state_file) if self.state_file is not None else None
        self._save_lock = threading.Lock()
        self._start(self._file.load() if self._file is not None else None)
        middleware = [Middleware(_SavesAfterEachRequest, sandbox=self)] if self._file is not None else []
        self.app = Starlette(routes=self._control_routes() + [r for p in self.providers.values() for r in p.routes()], middleware=middleware)
        self.app.state.sandbox = self

    def _new_world(self) -> None:
        self.state = SandboxState(
            config=self.config,
            clock=SimClock(self.config.start, self.config.speed),
            rng=random.Random(self.config.seed if self.config.seeded else None),  # None: from the OS
        )
        self.providers: dict[str, SimulatedProvider] = {}
        for factory in _provider_factories():
            provider = factory(self.state)
            self.providers[provider.name] = provider

    def _start(self, saved: dict[str, Any] | None) -> None:
        self._new_world()
        if saved is not None and self._file is not None:
            try:
                self._restore(saved)
            except (StateUnreadable, LookupError, TypeError, ValueError, AttributeError) as exc:
                self._file.set_aside(f"it could not be restored ({exc})")
                self._new_world()
        self.state.on_change = self.save
        # What the file holds: nothing to write until the world changes.
        self._saved_versions = self._versions()
        self._saved_world = self._world_key()

    # ------------------------------------------------------------ the state file

    def _world(self) -> dict[str, Any]:
        version, internal, gauss_next = self.state.rng.getstate()
        return {
            "rng": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
            "faults": self.state.faults.dump(),
            "providers": {name: provider.dump() for name, provider in self.providers.items()},
        }

    def _world_key(self) -> tuple[dict[str, Any], float]:
        # The clock's reading changes all the time; only moving it on by hand is a change to save.
        return self._world(), self.state.clock.advanced_seconds

    def _versions(self) -> tuple[int, int, float]:
        """Cheap to read on every request: moves on whenever the world may have changed."""
        return self.state.version, self.state.faults.version, self.state.clock.advanced_seconds

    def save(self) -> bool:
        """Write the state file if the world changed since the last write. True when written.

        Called after every request (and before an answer is held back); call it after changing a
        provider directly. A failed write is logged and the sandbox goes on in memory.
        """
        if self._file is None:
            return False
        with self._save_lock:
            versions = self._versions()
            if versions == self._saved_versions:
                return False  # nothing was touched: no need to look at the whole world
            key = self._world_key()
            if key == self._saved_world:  # touched but the same (an eSIM installed again, say)
                self._saved_versions = versions
                return False
            clock = {"now": self.state.clock.now().isoformat(), "saved_at": _wall_clock().isoformat(), "speed": self.state.clock.speed}
            document = {"format": FORMAT, "version": VERSION, "seed": self.config.seed, "clock": clock, **key[0]}
            if not self._file.write(document):
                return False
            self._saved_versions, self._saved_world = versions, key
            return True

    def _restore(self, saved: dict[str, Any]) -> None:
        if saved.get("seed") != self.config.seed:
            raise StateUnreadable(f"it was made with seed {saved.get('seed')!r} and this sandbox has seed {self.config.seed}")
        # Simulated time went on while the app was closed, at the speed it ran at (not at all when
        # frozen): never back, so validity and expiries carry on from where they were.
        clock = saved["clock"]
        closed_for = max(0.0, (_wall_clock() - when(clock["saved_at"])).total_seconds())
        resumed = when(clock["now"]) + timedelta(seconds=closed_for * float(clock["speed"]))
        self.state.clock = SimClock(resumed, self.config.speed)
        rng = saved["rng"]
        gauss_next = rng["gauss_next"]
        self.state.rng.setstate((int(rng["version"]), tuple(int(n) for n in rng["internal"]), None if gauss_next is None else float(gauss_next)))
        self.state.faults.load(saved["faults"])
        for name, provider in self.providers.items():
            provider.load(saved["providers"][name])

    # ------------------------------------------------------------ control endpoints

    def _control_routes(self) -> list[Route]:
        return [
            Route("/_sandbox/ledger", self.ledger, methods=["GET"]),
            Route("/_sandbox/clock", self.clock, methods=["GET", "POST"]),
            Route("/_sandbox/esims/{iccid}/install", self.install, methods=["POST"]),
            Route("/_sandbox/esims/{iccid}/usage", self.usage, methods=["POST"]),
            Route("/_sandbox/faults", self.faults, methods=["GET", "POST", "DELETE"]),
        ]

    async def ledger(self, request: Request) -> Response:
        return JSONResponse({name: provider.account.to_json() for name, provider in self.providers.items()})

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if body is None:
                return _bad("send JSON like {\"advance_seconds\": 3600}")
            try:
                seconds = float(body.get("advance_seconds", 0))
                self.state.clock.advance(seconds)
            except (TypeError, ValueError) as exc:
                return _bad(f"advance_seconds: {exc}")
        return JSONResponse({"now": self.state.clock.now().isoformat(), "speed": self.state.clock.speed})

    def _owner(self, iccid: str) -> SimulatedProvider | None:
        return next((p for p in self.providers.values() if p.knows(iccid)), None)

    async def install(self, request: Request) -> Response:
        iccid = request.path_params["iccid"]
        provider = self._owner(iccid)
        if provider is None:
            return _bad(f"no eSIM with ICCID {iccid}", 404)
        return JSONResponse({"provider": provider.name, **provider.install(iccid)})

    async def usage(self, request: Request) -> Response:
        iccid = request.path_params["iccid"]
        provider = self._owner(iccid)
        if provider is None:
            return _bad(f"no eSIM with ICCID {iccid}", 404)
        body = await _json_body(request)
        try:
            used = int((body or {}).get("bytes"))
            if used < 0:
                raise ValueError
        except (TypeError, ValueError):
            return _bad("send JSON like {\"bytes\": 250000000} (a whole number, at least 0)")
        return JSONResponse({"provider": provider.name, **provider.use_data(iccid, used)})

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.faults.clear()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            body = await _json_body(request)
            if not isinstance(body, dict):
                return _bad("send a JSON object")
            try:
                fault = _fault_from(body, self.providers)
            except ValueError as exc:
                return _bad(str(exc))
            self.state.faults.add(fault)
        return JSONResponse({"faults": self.state.faults.pending()})


class _SavesAfterEachRequest:
    """Saves the sandbox's state after each request, answered or dropped, before the client reads on."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.sandbox.save()


def _fault_from(body: dict[str, Any], providers: dict[str, SimulatedProvider]) -> Fault:
    provider = body.get("provider")
    if provider not in providers:
        raise ValueError(f"provider must be one of {', '.join(providers)}")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("endpoint is required, e.g. create_order")
    try:
        kind = FaultKind(body.get("kind"))
    except ValueError:
        raise ValueError(f"kind must be one of {', '.join(k.value for k in FaultKind)}") from None
    count = body.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise ValueError("count must be a whole number, at least 1")
    params = {k: v for k, v in body.items() if k not in ("provider", "endpoint", "kind", "count")}
    if "seconds" in params:
        try:
            params["seconds"] = float(Decimal(str(params["seconds"])))
        except InvalidOperation:
            raise ValueError("seconds must be a number") from None
    return Fault(provider, endpoint, kind, count, params)


async def _json_body(request: Request) -> Any:
    try:
        raw = await request.body()
        return jsonnum.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return None


def _bad(message: str, status: int = 400) -> Response:
    return JSONResponse({"message": message}, status_code=status)


def _provider_factories():
    from esim_tui.sandbox.esimgo import EsimGoSim
    from esim_tui.sandbox.octopus import OctopusSim

    def octopus(state: SandboxState) -> SimulatedProvider:
        return OctopusSim(state, Account(state.config.octopus_balance))

    def esimgo(state: SandboxState) -> SimulatedProvider:
        return EsimGoSim(state, Account(state.config.esimgo_balance))

    return [octopus, esimgo]


class SandboxTransport(httpx.AsyncBaseTransport):
    """httpx transport into the in-process sandbox; a dropped connection surfaces as httpx does it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._inner = httpx.ASGITransport(app=sandbox.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body", request=request) from None


IN_PROCESS_URL = "http://sandbox.invalid"


def sandbox_transport(sandbox: Sandbox) -> httpx.AsyncBaseTransport:
    return SandboxTransport(sandbox)
