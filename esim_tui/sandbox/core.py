"""What every simulated provider shares: state, JSON with exact decimals, faults around endpoints."""

from __future__ import annotations

import asyncio
import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from esim_tui import jsonnum
from esim_tui.sandbox.clock import SimClock
from esim_tui.sandbox.faults import AFTER_COMMIT, BEFORE_COMMIT, Fault, FaultBook, FaultKind
from esim_tui.sandbox.ledger import Account

SCENARIOS = ("default", "realistic", "pending", "failing", "slow")


@dataclass
class SandboxConfig:
    seed: int = 2026  # the catalogue; with ``seeded``, everything random too
    #: False: what is random in the sales (ICCIDs, activation codes, references) starts anew in each fresh
    #: sandbox, so two trainees never hand out the same ICCIDs; the catalogue still comes from ``seed``.
    seeded: bool = True
    speed: float = 1.0
    octopus_token: str = "sandbox"
    esimgo_key: str = "sandbox"
    scenario: str = "default"
    start: datetime | None = None  # simulated time at start; now when None
    octopus_balance: Decimal = Decimal("5000.00")
    esimgo_balance: Decimal = Decimal("5000.00")
    rate_limits: bool = True  # eSIM Go's 10 requests a second


@dataclass
class SandboxState:
    config: SandboxConfig
    clock: SimClock
    faults: FaultBook = field(default_factory=FaultBook)
    rng: random.Random = field(default_factory=random.Random)
    #: Called when a change must be kept before the answer leaves (the sandbox saves its state file).
    on_change: Callable[[], None] | None = None
    _changes: Iterator[int] = field(default_factory=itertools.count, repr=False)
    version: int = 0  # moves on with every change a provider makes to its orders, eSIMs or account

    def touch(self) -> None:
        """A provider changed its part of the world (call it under the provider's lock)."""
        self.version = next(self._changes) + 1

    def changed(self) -> None:
        """The world has changed and the answer is held back: keep the change now."""
        if self.on_change is not None:
            self.on_change()


class Refused(Exception):
    """A request the provider turns away: the parts of its error answer (each provider renders them
    in its own envelope)."""

    def __init__(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


@dataclass(frozen=True)
class Outcome:
    """What fulfilment does with one order: a scenario's or a booked fault's choice."""

    kind: str = "deliver"  # "deliver", "pending" or "fail"
    pending_seconds: float = 0.0  # simulated seconds until a pending order resolves
    failure: Any = None  # the provider's failure (FAILED now with "fail", or on resolving a "pending")
    processing_seconds: float = 0.0  # eSIM Go: bundles stay "processing" this long after assignment
    answer_delay: float = 0.0  # real seconds before the (already committed) answer leaves


async def answer_later(seconds: float) -> None:
    """Hold an answer back (real time). A seam so tests can watch slow answers without waiting."""
    await asyncio.sleep(seconds)


class ConnectionDropped(Exception):
    """Raised by the sandbox to close the connection mid-answer (a drop fault)."""


class JSONResponse(Response):
    """JSON where Decimal stays exact on the wire."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonnum.dumps(content).encode("utf-8")


class DroppedResponse(Response):
    """Starts an answer, then closes the connection: the client never gets a whole response."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"512"), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
        raise ConnectionDropped("sandbox fault: connection dropped")


def malformed_response(kind: str) -> Response:
    if kind == "html":
        return Response(b"<html><body><h1>502 Bad Gateway</h1></body></html>", 200, media_type="application/json")
    if kind == "invalid_utf8":
        return Response(b'{"status": "DELIVERED", "name": "\xff\xfe\xfa"}', 200, media_type="application/json")
    return Response(b'{"id": 93024, "status": "DELIV', 200, media_type="application/json")


Handler = Callable[[Request], Awaitable[Response]]


class SimulatedProvider(ABC):
    """One provider inside the sandbox. Subclasses add routes and answer the control endpoints."""

    name: str

    def __init__(self, state: SandboxState, account: Account) -> None:
        self.state = state
        self.account = account

    @property
    def now(self) -> datetime:
        return self.state.clock.now()

    @abstractmethod
    def routes(self) -> list[BaseRoute]: ...

    @abstractmethod
    def error(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> Response:
        """An error answer in this provider's own envelope."""

    @abstractmethod
    def knows(self, iccid: str) -> bool: ...

    @abstractmethod
    def install(self, iccid: str) -> dict[str, Any]:
        """The customer installs the eSIM on a phone."""

    @abstractmethod
    def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        """The customer's phone uses data."""

    @abstractmethod
    def dump(self) -> dict[str, Any]:
        """This provider's part of the world (its orders, eSIMs and account) as plain JSON values."""

    @abstractmethod
    def load(self, data: dict[str, Any]) -> None:
        """Take back what ``dump`` wrote (the catalogue is this sandbox's own, from the seed)."""

    def faulty(self, endpoint: str, handler: Handler) -> Handler:
        """Wrap ``handler`` so the faults booked for (this provider, endpoint) apply to it."""

        async def wrapped(request: Request) -> Response:
            before = self.state.faults.take(self.name, endpoint, BEFORE_COMMIT)
            if before is not None:
                return self._before_commit(before)
            response = await handler(request)
            after = self.state.faults.take(self.name, endpoint, AFTER_COMMIT)
            if after is not None:
                return await self._after_commit(after, response)
            return response

        return wrapped

    def _before_commit(self, fault: Fault) -> Response:
        if fault.kind is FaultKind.DROP_BEFORE_COMMIT:
            return DroppedResponse()
        retry_after = str(fault.params.get("retry_after", "1"))
        if fault.kind is FaultKind.RATE_LIMIT:
            return self.error(429, "Rate limit exceeded", "RATE_LIMITED", {"Retry-After": retry_after})
        return self.error(503, "Processing - Please come back later", "UNAVAILABLE", {"Retry-After": retry_after})

    async def _after_commit(self, fault: Fault, response: Response) -> Response:
        if fault.kind is FaultKind.DELAY:
            self.state.changed()
            await asyncio.sleep(float(fault.params.get("seconds", 5)))
            return response
        if fault.kind is FaultKind.DROP_AFTER_COMMIT:
            return DroppedResponse()
        if fault.kind is FaultKind.MALFORMED_JSON:
            return malformed_response(str(fault.params.get("body", "truncated")))
        return self.error(500, "Internal server error", "INTERNAL")


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)
