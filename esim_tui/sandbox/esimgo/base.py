"""What every eSIM Go endpoint shares: the sandbox state it holds, the guard (rate limit, API key, faults)
around each handler, the look-ups, and the world's mechanics (fulfilling an order, a new eSIM, usage alerts)."""

from __future__ import annotations

import hmac
import threading
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from esim_tui.domain.codes import mint_iccid
from esim_tui.sandbox.core import (
    Handler,
    JSONResponse,
    Refused,
    SandboxState,
    SimulatedProvider,
)
from esim_tui.sandbox.esimgo.limits import RateLimiter
from esim_tui.sandbox.esimgo.world import (
    ACTIVE,
    ALPHANUMERIC,
    ENDPOINT_COSTS,
    FIRST_ASSIGNMENT_ID,
    ICCID_ISSUER,
    LETTERS,
    PROCESSING,
    QUEUED,
    UTILISATION_ALERTS,
    Assignment,
    Esim,
    SimOrder,
)
from esim_tui.sandbox.esimgo_catalogue import (
    Catalogue,
    CatalogueBundle,
    build_catalogue,
)
from esim_tui.sandbox.ledger import Account


class EsimGoBase(SimulatedProvider):
    """The state and mechanics; the endpoints are mixins over it (see ``sim.EsimGoSim``)."""

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self.catalogue: Catalogue = build_catalogue(state.config.seed)
        self.rate_limiter = RateLimiter()
        #: Simulated seconds a new assignment stays "processing"; None leaves it to the scenario
        #: (0 by default, a few seconds to a minute and a half in "realistic"). A seam for drills and tests.
        self.bundle_processing_seconds: float | None = None
        # Handlers share one event loop, but the control hooks and tests may reach in from another
        # thread (a served sandbox runs in its own): every read-modify-write holds this lock, never
        # across an await.
        self._lock = threading.RLock()
        self._esims: dict[str, Esim] = {}
        self._orders: dict[str, SimOrder] = {}
        self._pending: list[SimOrder] = []
        self._inventory: dict[str, int] = {}  # bundle name -> units bought with assign: false (or refunded to it)
        self._next_assignment_id = FIRST_ASSIGNMENT_ID
        self._bundle_json: dict[tuple[str, bool], dict[str, Any]] = {}
        self._api_routes: list[Route] = []  # set by EsimGoSim once every endpoint is there

    def error(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"message": message}, status_code=status, headers=headers)

    def _endpoint(self, name: str, handler: Handler) -> Handler:
        """Rate limit, then auth, then the shared faults around the handler; Refused becomes an error."""

        async def refusing(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as exc:
                return self.error(exc.status, exc.message, headers=exc.headers)

        return self._guarded(self.faulty(name, refusing), ENDPOINT_COSTS.get(name, 1))

    def _guarded(self, handler: Handler, cost: int) -> Handler:
        async def guarded(request: Request) -> Response:
            headers: dict[str, str] = {}
            if self.state.config.rate_limits:
                client = request.client.host if request.client else "unknown"
                allowed, headers = self.rate_limiter.take(client, cost)
                if not allowed:
                    return self.error(429, "Rate limit exceeded", headers={**headers, "Retry-After": "1"})
            response = self._deny(request) or await handler(request)
            for key, value in headers.items():
                response.headers[key] = value
            return response

        return guarded

    def _deny(self, request: Request) -> Response | None:
        """The 403 answer unless the request carries the organisation's API key (never echoed)."""
        key = request.headers.get("x-api-key", "")
        expected = self.state.config.esimgo_key
        if not key:
            return self.error(403, "Unauthorised: send your API key in the X-API-Key header")
        if not hmac.compare_digest(key.encode("utf-8", "replace"), expected.encode("utf-8")):
            return self.error(403, "Unauthorised: the API key is not valid")
        return None

    async def _no_route(self, request: Request) -> Response:
        if any(route.matches(request.scope)[0] is Match.PARTIAL for route in self._api_routes):
            return self.error(405, f"{request.method} is not allowed here")
        return self.error(404, "Not found")

    def _bundle(self, name: str) -> CatalogueBundle:
        bundle = self.catalogue.get(name)
        if bundle is None:
            raise Refused(404, f"Bundle {name} not found (bundle names are case sensitive)")
        return bundle

    def _esim(self, iccid: str) -> Esim:
        esim = self._esims.get(iccid)
        if esim is None:
            # The spec's 403: "the ICCID is not accessible by the user".
            raise Refused(403, f"eSIM {iccid} is not accessible by your organisation")
        return esim

    def _order(self, reference: str) -> SimOrder:
        order = self._orders.get(reference)
        if order is None:
            raise Refused(404, f"Order {reference} not found")
        return order

    def _settle(self) -> None:
        """Processing orders whose time has come complete (or fail) now: the first look after it."""
        now = self.now
        for order in [o for o in self._pending if o.ready_at is not None and now >= o.ready_at]:
            self._pending.remove(order)
            self.state.touch()
            if order.resolve_failure is not None:
                order.status, order.failure = "failed", order.resolve_failure
                self.account.refund(order.reference, order.total)
            else:
                self._fulfil(order, order.ready_at or now)

    def _bundle_dict(self, bundle: CatalogueBundle, groups: bool = True) -> dict[str, Any]:
        key = (bundle.name, groups)
        if key not in self._bundle_json:
            self._bundle_json[key] = bundle.to_json(groups=groups)
        return self._bundle_json[key]

    def _fulfil(self, order: SimOrder, at: datetime) -> None:
        """Assign every unit: top-ups onto their eSIMs, the rest onto new eSIMs; or into inventory."""
        order.status, order.ready_at = "completed", None
        if not order.assigned:
            for line in order.lines:
                self._inventory[line.bundle.name] = self._inventory.get(line.bundle.name, 0) + line.quantity
            return
        n = 0
        for line in order.lines:
            for target in line.targets:
                esim = self._esims[target] if target is not None else self._new_esim(line.bundle, at, order.branding_id)
                assignment = Assignment(
                    id=str(self._next_assignment_id),
                    bundle=line.bundle,
                    reference=f"{order.reference}-{n}",
                    order_reference=order.reference,
                    price=line.bundle.price,
                    assigned_at=at,
                    ready_at=at + timedelta(seconds=order.processing_seconds),
                    remaining_bytes=-1 if line.bundle.data_bytes is None else line.bundle.data_bytes,
                )
                self._next_assignment_id += 1
                n += 1
                esim.assignments.append(assignment)
                esim.history.append(("Bundle Applied", line.bundle.name, at))
                line.iccids.append(esim.iccid)

    def _new_esim(self, bundle: CatalogueBundle, at: datetime, branding: str | None) -> Esim:
        rng = self.state.rng
        iccid = mint_iccid(rng, ICCID_ISSUER)
        while iccid in self._esims:
            iccid = mint_iccid(rng, ICCID_ISSUER)
        # Shaped like the spec's JQ-123456-ABCDEPFX: letters, digits, then letters and digits.
        matching_id = "-".join(
            (
                "".join(rng.choice(LETTERS) for _ in range(2)),
                "".join(rng.choice("0123456789") for _ in range(6)),
                "".join(rng.choice(ALPHANUMERIC) for _ in range(8)),
            )
        )
        esim = Esim(
            iccid=iccid,
            matching_id=matching_id,
            pin="".join(rng.choice("0123456789") for _ in range(4)),
            puk="".join(rng.choice("0123456789") for _ in range(8)),
            profile_name=bundle.profile_name,
            created_at=at,
            branding_id=branding,
        )
        self._esims[iccid] = esim
        return esim

    @staticmethod
    def _current(esim: Esim, now: datetime) -> Assignment | None:
        """The assignment data goes to: the active one, else the oldest queued (or processing) one."""
        live = [a for a in esim.assignments if a.state(now) == ACTIVE]
        if live:
            return min(live, key=lambda a: a.started_at or now)
        waiting = [a for a in esim.assignments if a.state(now) in (QUEUED, PROCESSING)]
        return waiting[0] if waiting else None

    @staticmethod
    def _alert(esim: Esim, a: Assignment, now: datetime) -> None:
        initial = a.initial_bytes
        if initial <= 0:
            return
        used_percent = (initial - a.remaining_bytes) * 100 // initial
        for threshold in UTILISATION_ALERTS:
            if used_percent >= threshold and threshold not in a.alerts_sent:
                a.alerts_sent.add(threshold)
                esim.history.append(("eSIM Utilisation Alert", a.bundle.name, now))
