"""What every Octopus Cards endpoint shares: the state, the error envelope, bearer-token checks, the
look-ups and the order mechanics (delivering, failing and resolving a PENDING order)."""

from __future__ import annotations

import hmac
import threading
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from esim_tui.domain.codes import mint_iccid
from esim_tui.sandbox.core import (
    JSONResponse,
    Refused,
    SandboxState,
    SimulatedProvider,
)
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.octopus.world import (
    ERROR_NAMES,
    FIRST_ORDER_ID,
    FIRST_TRANSACTION_ID,
    MATCHING_ID_ALPHABET,
    SMDP_HOST,
    SimOrder,
    Tokens,
    paging,
    ts,
)
from esim_tui.sandbox.octopus_catalogue import (
    Catalogue,
    build_catalogue,
)


class OctopusBase(SimulatedProvider):
    """The state and mechanics; the endpoints are mixins over it (see ``sim.OctopusSim``)."""

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self.catalogue: Catalogue = build_catalogue(state.config.seed)
        # Handlers share one event loop, but the control hooks and tests may reach in from another
        # thread (a served sandbox runs in its own): every read-modify-write holds this lock, never
        # across an await.
        self._lock = threading.RLock()
        self._orders: dict[int, SimOrder] = {}
        self._by_reference: dict[str, int] = {}
        self._by_iccid: dict[str, int] = {}
        self._next_order_id = FIRST_ORDER_ID
        self._next_transaction_id = FIRST_TRANSACTION_ID
        self._tokens = Tokens()
        self._api_routes: list[Route] = []  # set by OctopusSim once every endpoint is there

    def error(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> Response:
        name, default_code = ERROR_NAMES.get(status, ("Error", "ERROR"))
        body = {"error": {"name": name, "code": code or default_code, "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)

    def _refused(self, exc: Refused) -> Response:
        return self.error(exc.status, exc.message, exc.code)

    async def _no_route(self, request: Request) -> Response:
        path = request.url.path
        if any(route.path_regex.match(path) for route in self._api_routes):
            return self.error(405, f"{request.method} is not allowed here")
        return self.error(404, "Route not found")

    def _authenticate(self, request: Request) -> Response | None:
        """None when the request carries a valid bearer token; otherwise the 401 answer.

        Messages never repeat the token the client sent.
        """
        header = request.headers.get("authorization", "").strip()
        if not header:
            return self.error(401, "Authorization header required")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.error(401, "Invalid credentials")
        if hmac.compare_digest(token.encode(), self.state.config.octopus_token.encode()):
            return None
        with self._lock:
            expires = self._tokens.access.get(token)
        if expires is None:
            return self.error(401, "Invalid credentials")
        if self.now >= expires:
            return self.error(401, "Authentication required")
        return None

    def _listing(self, request: Request) -> tuple[int, int] | Response:
        """A list endpoint's credentials and paging: (page, per_page), or the refusal to answer with."""
        if denied := self._authenticate(request):
            return denied
        try:
            return paging(request)
        except Refused as exc:
            return self._refused(exc)

    def _deliver(self, order: SimOrder) -> None:
        rng = self.state.rng
        iccid = mint_iccid(rng)
        while iccid in self._by_iccid:
            iccid = mint_iccid(rng)
        groups = (2, 6, 7)  # e.g. K2-4CVQ7B-9MZXTLA
        matching_id = "-".join("".join(rng.choice(MATCHING_ID_ALPHABET) for _ in range(n)) for n in groups)
        self.state.touch()
        order.status = "DELIVERED"
        order.iccid = iccid
        order.activation_code = f"LPA:1${SMDP_HOST}${matching_id}"
        order.ready_at = None
        self._by_iccid[iccid] = order.id

    def _fail(self, order: SimOrder, failure: dict[str, Any]) -> None:
        self.state.touch()
        order.status = "FAILED"
        order.failure = failure
        order.ready_at = None
        self.account.refund(str(order.id))

    def _resolve(self, order: SimOrder) -> None:
        """A PENDING order whose fulfilment time has come resolves on the next read (the provider's
        detail GET refreshes it, and its retry cron finishes it regardless)."""
        if order.status == "PENDING" and order.ready_at is not None and self.now >= order.ready_at:
            if order.resolve_failure is not None:
                self._fail(order, order.resolve_failure)
            else:
                self._deliver(order)

    def _activation_status(self, order: SimOrder) -> str:
        if order.installed_at is None:
            return "NOT_INSTALLED"
        # Validity starts at install; it runs out whether or not data was used.
        if self.now >= order.installed_at + timedelta(days=order.variant.validity_days):
            return "EXPIRED"
        return "ACTIVE" if order.activated_at is not None else "NOT_INSTALLED"

    def _order_json(self, order: SimOrder, *, detail: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": order.id,
            "client_reference": order.client_reference,
            "status": order.status,
            "product_id": order.product.id,
            "product_name": order.product.name,
            "country_code": order.product.country_code,
            "data_amount_gb": order.variant.data_amount_gb,
            "validity_days": order.variant.validity_days,
            "amount": order.amount,
            "currency": order.variant.currency_code,
            "activation_status": self._activation_status(order),
            "is_installed": order.installed_at is not None,
            "installed_at": ts(order.installed_at),
            "activated_at": ts(order.activated_at),
            "transaction_id": order.transaction_id,
            "created_at": ts(order.created_at),
        }
        if order.status == "FAILED" and order.failure:
            out.update(order.failure)
        if order.notification_email is not None:
            out["notification_email"] = order.notification_email
        if detail and order.iccid is not None:
            out["iccid"] = order.iccid
            # Single-use credential: burnt on install, never sent again.
            if order.installed_at is None:
                out["activation_code"] = order.activation_code
        return out

    def _order(self, raw: str) -> SimOrder:
        order = self._orders.get(int(raw)) if raw.isdigit() else None
        if order is None:
            raise Refused(404, "eSIM order not found")
        return order

    def _by(self, iccid: str) -> SimOrder:
        order_id = self._by_iccid.get(iccid)
        if order_id is None:
            raise KeyError(f"no Octopus eSIM with ICCID {iccid}")
        return self._orders[order_id]
