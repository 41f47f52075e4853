"""The sandbox as one ASGI application: both simulated providers plus the control endpoints.

Served on a port by ``esim-tui sandbox``, or mounted in-process (``in_process_client``) when no real
provider is configured, so a fresh machine sells eSIMs with no account and no server to start.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


class Sandbox:
    """The simulated world: a clock, a fault book, and the providers that live in it."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        import random

        self.config = config or SandboxConfig()
        if self.config.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.config.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        self.state = SandboxState(
            config=self.config,
            clock=SimClock(self.config.start, self.config.speed),
            rng=random.Random(self.config.seed),
        )
        self.providers: dict[str, SimulatedProvider] = {}
        for factory in _provider_factories():
            provider = factory(self.state)
            self.providers[provider.name] = provider
        self.app = Starlette(routes=self._control_routes() + [r for p in self.providers.values() for r in p.routes()])
        self.app.state.sandbox = self

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
