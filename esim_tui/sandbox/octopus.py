"""The simulated Octopus Cards eSIM API (providers.md section B; the seed's "eSIM purchase flow").

What a client relies on, and what this simulator therefore keeps exactly:

* ``/api/v1/esim/...`` needs ``Authorization: Bearer <token>``: the configured token or an access token
  from ``POST /auth/login`` (1 h; refresh tokens 7 days, both on simulated time).
* List endpoints answer a bare JSON array with the paging in ``X-...`` headers; single objects come
  wrapped in ``{"data": {...}}``; errors in ``{"error": {"name", "code", "message"}}``.
* ``POST /esim/orders`` answers HTTP 200 for every processed order and the body's ``status`` says
  what happened (DELIVERED, PENDING or FAILED). ``(product_id, amount)`` picks the variant;
  ``quantity`` is always 1; a reused ``client_reference`` is a 400 "Duplicate client_reference" and
  charges nothing. The wallet is debited once per order, less the client discount, and refunded when
  the order fails.
* The activation code is on the create answer and the detail endpoint only until the eSIM is
  installed; list answers never carry it (nor the ICCID).
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from esim_tui import jsonnum
from esim_tui.domain.codes import mint_iccid
from esim_tui.sandbox import core
from esim_tui.sandbox.core import JSONResponse, Outcome, Refused, SandboxState, SimulatedProvider
from esim_tui.sandbox.faults import Fault, FaultKind
from esim_tui.sandbox.ledger import Account
from esim_tui.sandbox.persist import StateUnreadable, dump_record, load_record
from esim_tui.sandbox.octopus_catalogue import Catalogue, Product, Variant, build_catalogue

API = "/api/v1"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
INLINE_DEADLINE_SECONDS = 60  # the provider answers PENDING when fulfilment takes longer than this
SMDP_HOST = "rsp.sandbox.octopuscards.example"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
ORDER_STATUSES = ("PENDING", "DELIVERED", "FAILED", "CANCELLED")
MAX_REFERENCE_LENGTH = 255

_FIRST_ORDER_ID = 9302481
_FIRST_TRANSACTION_ID = 7402011
_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")
_PLACE_CODE = re.compile(r"[A-Za-z]{3}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_MATCHING_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_ERROR_NAMES = {
    400: ("BadRequestError", "BAD_REQUEST"),
    401: ("UnauthorizedError", "UNAUTHORIZED"),
    404: ("NotFoundError", "NOT_FOUND"),
    405: ("MethodNotAllowedError", "METHOD_NOT_ALLOWED"),
    429: ("TooManyRequestsError", "RATE_LIMITED"),
    500: ("InternalServerError", "INTERNAL"),
    503: ("ServiceUnavailableError", "UNAVAILABLE"),
}

PLAN_UNAVAILABLE = {
    "failure_code": "PLAN_UNAVAILABLE",
    "failure_reason": "The plan is no longer available",
    "is_user_fixable": True,
}


# ---------------------------------------------------------------- how an order turns out


def realistic_outcome(rng) -> Outcome:
    """The "realistic" scenario's mix: ~80 % inline, ~12 % PENDING, ~5 % FAILED, ~3 % slow answers."""
    roll = rng.random()
    if roll < 0.80:
        return Outcome("deliver")
    if roll < 0.92:
        return Outcome("pending", pending_seconds=float(rng.randint(20, 120)))
    if roll < 0.97:
        return Outcome("fail", failure=dict(PLAN_UNAVAILABLE))
    return Outcome("deliver", answer_delay=rng.uniform(2.0, 4.0))


def scenario_outcome(scenario: str, rng) -> Outcome:
    if scenario == "realistic":
        return realistic_outcome(rng)
    if scenario == "pending":
        return Outcome("pending", pending_seconds=float(INLINE_DEADLINE_SECONDS))
    if scenario == "failing":
        return Outcome("fail", failure=dict(PLAN_UNAVAILABLE))
    if scenario == "slow":
        return Outcome("deliver", answer_delay=3.0)
    return Outcome("deliver")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


def _failure_from(params: dict[str, Any]) -> dict[str, Any]:
    code = str(params.get("failure_code", PLAN_UNAVAILABLE["failure_code"]))
    default_reason = PLAN_UNAVAILABLE["failure_reason"] if code == "PLAN_UNAVAILABLE" else "The eSIM could not be issued"
    return {
        "failure_code": code,
        "failure_reason": str(params.get("failure_reason", default_reason)),
        "is_user_fixable": _truthy(params.get("is_user_fixable", True)),
    }


def fault_outcome(fault: Fault) -> Outcome:
    """A booked "pending" or "fail" fault. A "pending" fault with a failure_code resolves FAILED."""
    if fault.kind is FaultKind.PENDING:
        seconds = max(0.0, float(fault.params.get("seconds", INLINE_DEADLINE_SECONDS)))
        failure = _failure_from(fault.params) if "failure_code" in fault.params else None
        return Outcome("pending", pending_seconds=seconds, failure=failure)
    return Outcome("fail", failure=_failure_from(fault.params))


# ---------------------------------------------------------------- orders


@dataclass
class _Order:
    id: int
    transaction_id: int
    client_reference: str | None
    product: Product
    variant: Variant
    amount: Decimal  # what the wallet was debited
    created_at: datetime
    status: str = "PENDING"
    ready_at: datetime | None = None  # a PENDING order resolves at the first read after this
    resolve_failure: dict[str, Any] | None = None  # a PENDING order that will end FAILED
    failure: dict[str, Any] | None = None
    iccid: str | None = None
    activation_code: str | None = None
    installed_at: datetime | None = None
    activated_at: datetime | None = None
    used_bytes: int = 0
    notification_email: str | None = None


def _ts(moment: datetime | None) -> str | None:
    """ISO 8601 UTC to the second, as the provider writes it: 2026-05-15T18:42:11Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _debit(amount: Decimal, discount_percent: Decimal) -> Decimal:
    """Exact wallet debit: 4.50 less 5.0 % is 4.275; never fewer than two decimals."""
    exact = (amount * (100 - discount_percent) / 100).normalize()
    return exact.quantize(Decimal("0.01")) if exact.as_tuple().exponent > -2 else exact


def reference_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid client_reference (printable ASCII, 1-255 characters), or None."""
    if not isinstance(value, str):
        return "client_reference must be a string"
    if not 1 <= len(value) <= MAX_REFERENCE_LENGTH:
        return f"client_reference must be 1 to {MAX_REFERENCE_LENGTH} characters long"
    if not (value.isascii() and value.isprintable()):
        return "client_reference must be printable ASCII"
    return None


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass
class _Tokens:
    access: dict[str, datetime] = field(default_factory=dict)  # token -> expiry (simulated)
    refresh: dict[str, datetime] = field(default_factory=dict)


class OctopusSim(SimulatedProvider):
    name = "octopus"

    def __init__(self, state: SandboxState, account: Account) -> None:
        super().__init__(state, account)
        self.catalogue: Catalogue = build_catalogue(state.config.seed)
        # Handlers share one event loop, but the control hooks and tests may reach in from another
        # thread (a served sandbox runs in its own): every read-modify-write holds this lock, never
        # across an await.
        self._lock = threading.RLock()
        self._orders: dict[int, _Order] = {}
        self._by_reference: dict[str, int] = {}
        self._by_iccid: dict[str, int] = {}
        self._next_order_id = _FIRST_ORDER_ID
        self._next_transaction_id = _FIRST_TRANSACTION_ID
        self._tokens = _Tokens()
        self._api_routes = self._build_routes()

    # ------------------------------------------------------------ routes and errors

    def _build_routes(self) -> list[Route]:
        f = self.faulty
        return [
            Route(f"{API}/esim/products", f("list_products", self._list_products), methods=["GET"]),
            Route(f"{API}/esim/products/{{product_id}}", f("get_product", self._get_product), methods=["GET"]),
            Route(f"{API}/esim/products/{{product_id}}/variants", f("list_variants", self._list_variants), methods=["GET"]),
            Route(f"{API}/esim/variants/{{variant_id}}", f("get_variant", self._get_variant), methods=["GET"]),
            Route(f"{API}/esim/orders", f("create_order", self._create_order), methods=["POST"]),
            Route(f"{API}/esim/orders", f("list_orders", self._list_orders), methods=["GET"]),
            Route(f"{API}/esim/orders/{{order_id}}", f("get_order", self._get_order), methods=["GET"]),
            Route(f"{API}/esim/orders/{{order_id}}/notification-email", f("notification_email", self._notification_email), methods=["PATCH"]),
            Route("/auth/login", f("login", self._login), methods=["POST"]),
            Route("/auth/refresh", f("refresh", self._refresh_tokens), methods=["POST"]),
        ]

    def routes(self) -> list[BaseRoute]:
        # The catch-all keeps unknown API paths in the provider's error envelope (Starlette's own
        # 404/405 would be plain text).
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [*self._api_routes, Route(f"{API}/{{rest:path}}", self._no_route, methods=methods)]

    def error(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None) -> Response:
        name, default_code = _ERROR_NAMES.get(status, ("Error", "ERROR"))
        body = {"error": {"name": name, "code": code or default_code, "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)

    def _refused(self, exc: Refused) -> Response:
        return self.error(exc.status, exc.message, exc.code)

    async def _no_route(self, request: Request) -> Response:
        path = request.url.path
        if any(route.path_regex.match(path) for route in self._api_routes):
            return self.error(405, f"{request.method} is not allowed here")
        return self.error(404, "Route not found")

    # ------------------------------------------------------------ auth

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

    def _issue_tokens(self) -> dict[str, Any]:
        now = self.now
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            # Forget what has expired so a long-running sandbox does not grow without end.
            self._tokens.access = {t: e for t, e in self._tokens.access.items() if e > now}
            self._tokens.refresh = {t: e for t, e in self._tokens.refresh.items() if e > now}
            self._tokens.access[access] = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            self._tokens.refresh[refresh] = now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}

    async def _login(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return self.error(400, "Send a JSON object with client_id and client_secret")
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not isinstance(client_id, str) or not client_id.strip() or not isinstance(secret, str) or not secret:
            return self.error(400, "client_id and client_secret are required")
        if not hmac.compare_digest(secret.encode(), self.state.config.octopus_token.encode()):
            return self.error(401, "Invalid credentials")
        # Token answers are bare objects, as OAuth-style token endpoints answer.
        return JSONResponse(self._issue_tokens())

    async def _refresh_tokens(self, request: Request) -> Response:
        body = await _json_object(request)
        token = body.get("refresh_token") if body else None
        if not isinstance(token, str) or not token:
            return self.error(400, "refresh_token is required")
        with self._lock:
            expires = self._tokens.refresh.pop(token, None)  # each refresh token works once
        if expires is None:
            return self.error(401, "Invalid credentials")
        if self.now >= expires:
            return self.error(401, "Authentication required")
        return JSONResponse(self._issue_tokens())

    def _listing(self, request: Request) -> tuple[int, int] | Response:
        """A list endpoint's credentials and paging: (page, per_page), or the refusal to answer with."""
        if denied := self._authenticate(request):
            return denied
        try:
            return _paging(request)
        except Refused as exc:
            return self._refused(exc)

    # ------------------------------------------------------------ catalogue

    async def _list_products(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        products = list(self.catalogue.products.values())
        code = request.query_params.get("country_code")
        if code is not None:
            if not _PLACE_CODE.fullmatch(code):
                return self.error(400, "country_code must be ISO 3166-1 alpha-3 (e.g. JPN), GLO, or a region code (e.g. EUR)")
            products = [p for p in products if p.country_code == code.upper()]
        search = request.query_params.get("search")
        if search:
            wanted = search.casefold()
            products = [p for p in products if wanted in p.name.casefold()]
        return _paged([p.to_json() for p in products], page, per_page)

    def _product(self, raw: str) -> Product:
        product = self.catalogue.products.get(int(raw)) if raw.isdigit() else None
        if product is None:
            raise Refused(404, "eSIM product not found")
        return product

    async def _get_product(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        try:
            product = self._product(request.path_params["product_id"])
        except Refused as exc:
            return self._refused(exc)
        variants = [v.to_json() for v in self.catalogue.variants_of(product.id)]
        return JSONResponse({"data": {**product.to_json(), "variants": variants}})

    async def _list_variants(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        try:
            product = self._product(request.path_params["product_id"])
        except Refused as exc:
            return self._refused(exc)
        return _paged([v.to_json() for v in self.catalogue.variants_of(product.id)], page, per_page)

    async def _get_variant(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        raw = request.path_params["variant_id"]
        variant = self.catalogue.variants.get(int(raw)) if raw.isdigit() else None
        if variant is None or not variant.active:
            return self.error(404, "eSIM variant not found")
        return JSONResponse({"data": variant.to_json()})

    # ------------------------------------------------------------ orders

    async def _create_order(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        try:
            order, outcome = self._place(await _json_object(request))
        except Refused as exc:
            return self._refused(exc)
        with self._lock:
            body = self._order_json(order, detail=True)
        if outcome.answer_delay > 0:
            # Committed and charged already; only the answer is late (a slow upstream).
            self.state.changed()
            await core.answer_later(outcome.answer_delay)
        return JSONResponse({"data": body})

    def _place(self, body: dict[str, Any] | None) -> tuple[_Order, Outcome]:
        """Validate, charge and fulfil one order. No await inside: the duplicate check and the charge
        cannot interleave with another request's."""
        if body is None:
            raise Refused(400, "Send a JSON object like {\"product_id\": 712, \"amount\": 4.50, \"quantity\": 1}")
        product_id = body.get("product_id")
        if not _positive_int(product_id):
            raise Refused(400, "product_id must be an integer greater than 0")
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or not Decimal(amount).is_finite() or amount <= 0:
            raise Refused(400, "amount must be a positive number: echo the variant's amount exactly")
        reference = body.get("client_reference")
        if reference is not None and (problem := reference_problem(reference)):
            raise Refused(400, problem)
        wallet_id = body.get("wallet_id")
        if wallet_id is not None and not _positive_int(wallet_id):
            raise Refused(400, "wallet_id must be an integer greater than 0")
        # quantity is ignored on purpose: one order is always one eSIM.
        product = self.catalogue.products.get(product_id)
        if product is None:
            raise Refused(404, "eSIM product not found")
        variant = self.catalogue.resolve(product_id, Decimal(amount))
        if variant is None:
            raise Refused(400, f"No active variant of product {product_id} has that amount; echo a variant's amount exactly", "VARIANT_NOT_FOUND")
        debit = _debit(variant.amount, variant.client_discount)

        with self._lock:
            if reference is not None and reference in self._by_reference:
                raise Refused(400, "Duplicate client_reference", "DUPLICATE_CLIENT_REFERENCE")
            if debit > self.account.balance:
                raise Refused(400, "Insufficient wallet balance", "INSUFFICIENT_FUNDS")
            # A booked fault wins over the scenario; taken only now, so a refused request keeps it.
            fault = self.state.faults.take(self.name, "create_order", {FaultKind.PENDING, FaultKind.FAIL})
            outcome = fault_outcome(fault) if fault else scenario_outcome(self.state.config.scenario, self.state.rng)
            now = self.now
            order = _Order(
                id=self._next_order_id,
                transaction_id=self._next_transaction_id,
                client_reference=reference,
                product=product,
                variant=variant,
                amount=debit,
                created_at=now,
            )
            self._next_order_id += 1
            self._next_transaction_id += 1
            self._orders[order.id] = order
            self.state.touch()
            if reference is not None:
                self._by_reference[reference] = order.id
            self.account.charge(str(order.id), debit, reference)
            if outcome.kind == "deliver":
                self._deliver(order)
            elif outcome.kind == "fail":
                self._fail(order, outcome.failure or dict(PLAN_UNAVAILABLE))
            else:
                order.ready_at = now + timedelta(seconds=outcome.pending_seconds)
                order.resolve_failure = outcome.failure
        return order, outcome

    def _deliver(self, order: _Order) -> None:
        rng = self.state.rng
        iccid = mint_iccid(rng)
        while iccid in self._by_iccid:
            iccid = mint_iccid(rng)
        groups = (2, 6, 7)  # e.g. K2-4CVQ7B-9MZXTLA
        matching_id = "-".join("".join(rng.choice(_MATCHING_ID_ALPHABET) for _ in range(n)) for n in groups)
        self.state.touch()
        order.status = "DELIVERED"
        order.iccid = iccid
        order.activation_code = f"LPA:1${SMDP_HOST}${matching_id}"
        order.ready_at = None
        self._by_iccid[iccid] = order.id

    def _fail(self, order: _Order, failure: dict[str, Any]) -> None:
        self.state.touch()
        order.status = "FAILED"
        order.failure = failure
        order.ready_at = None
        self.account.refund(str(order.id))

    def _resolve(self, order: _Order) -> None:
        """A PENDING order whose fulfilment time has come resolves on the next read (the provider's
        detail GET refreshes it, and its retry cron finishes it regardless)."""
        if order.status == "PENDING" and order.ready_at is not None and self.now >= order.ready_at:
            if order.resolve_failure is not None:
                self._fail(order, order.resolve_failure)
            else:
                self._deliver(order)

    def _activation_status(self, order: _Order) -> str:
        if order.installed_at is None:
            return "NOT_INSTALLED"
        # Validity starts at install; it runs out whether or not data was used.
        if self.now >= order.installed_at + timedelta(days=order.variant.validity_days):
            return "EXPIRED"
        return "ACTIVE" if order.activated_at is not None else "NOT_INSTALLED"

    def _order_json(self, order: _Order, *, detail: bool) -> dict[str, Any]:
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
            "installed_at": _ts(order.installed_at),
            "activated_at": _ts(order.activated_at),
            "transaction_id": order.transaction_id,
            "created_at": _ts(order.created_at),
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

    def _order(self, raw: str) -> _Order:
        order = self._orders.get(int(raw)) if raw.isdigit() else None
        if order is None:
            raise Refused(404, "eSIM order not found")
        return order

    async def _get_order(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        with self._lock:
            try:
                order = self._order(request.path_params["order_id"])
            except Refused as exc:
                return self._refused(exc)
            self._resolve(order)
            body = self._order_json(order, detail=True)
        return JSONResponse({"data": body})

    async def _list_orders(self, request: Request) -> Response:
        paging = self._listing(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        status = request.query_params.get("status")
        if status is not None and status not in ORDER_STATUSES:
            return self.error(400, f"status must be one of {', '.join(ORDER_STATUSES)}")
        # Present but empty matches nothing: never widen a reference lookup to every order.
        reference = request.query_params.get("client_reference")
        with self._lock:
            if reference is not None:
                found = self._by_reference.get(reference)
                orders = [self._orders[found]] if found is not None else []
            else:
                orders = sorted(self._orders.values(), key=lambda o: o.id, reverse=True)  # newest first
            for order in orders:
                self._resolve(order)
            if status is not None:
                orders = [o for o in orders if o.status == status]
            items = [self._order_json(o, detail=False) for o in orders]
        return _paged(items, page, per_page)

    async def _notification_email(self, request: Request) -> Response:
        if denied := self._authenticate(request):
            return denied
        body = await _json_object(request)
        email = body.get("email") if body else None
        if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email):
            return self.error(400, "email must be an e-mail address like agent@example.com")
        with self._lock:
            try:
                order = self._order(request.path_params["order_id"])
            except Refused as exc:
                return self._refused(exc)
            self._resolve(order)
            order.notification_email = email
            self.state.touch()
            body = self._order_json(order, detail=False)
        return JSONResponse({"data": body})

    # ------------------------------------------------------------ control hooks

    def knows(self, iccid: str) -> bool:
        with self._lock:
            return iccid in self._by_iccid

    def _by(self, iccid: str) -> _Order:
        order_id = self._by_iccid.get(iccid)
        if order_id is None:
            raise KeyError(f"no Octopus eSIM with ICCID {iccid}")
        return self._orders[order_id]

    def install(self, iccid: str) -> dict[str, Any]:
        with self._lock:
            order = self._by(iccid)
            self.state.touch()
            if order.installed_at is None:  # installing again changes nothing
                order.installed_at = self.now
            return {"iccid": iccid, "is_installed": True, "installed_at": _ts(order.installed_at)}

    def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        """The phone uses ``used_bytes`` more. A phone cannot use an eSIM it has not installed, so
        data use installs it first; the first use activates it; an expired eSIM carries no data."""
        with self._lock:
            order = self._by(iccid)
            self.state.touch()
            if order.installed_at is None:
                order.installed_at = self.now
            if used_bytes > 0 and self._activation_status(order) != "EXPIRED":
                order.used_bytes += used_bytes
                if order.activated_at is None:
                    order.activated_at = self.now
            return {"iccid": iccid, "used_bytes": order.used_bytes, "activation_status": self._activation_status(order)}


    # ------------------------------------------------------------ the state file

    def dump(self) -> dict[str, Any]:
        """Orders, ids and the wallet for the sandbox's state file. Issued access tokens are left out:
        a restarted client logs in again (the configured token always works)."""
        with self._lock:
            return {
                "account": self.account.dump(),
                "next_order_id": self._next_order_id,
                "next_transaction_id": self._next_transaction_id,
                "orders": [dump_record(o, product=lambda p: p.id, variant=lambda v: v.id) for o in self._orders.values()],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Take back what ``dump`` wrote; the products and variants come from this sandbox's catalogue."""

        def product(product_id: Any) -> Product:
            if product_id not in self.catalogue.products:
                raise StateUnreadable(f"Octopus product {product_id!r} is not in the catalogue")
            return self.catalogue.products[product_id]

        def variant(variant_id: Any) -> Variant:
            if variant_id not in self.catalogue.variants:
                raise StateUnreadable(f"Octopus variant {variant_id!r} is not in the catalogue")
            return self.catalogue.variants[variant_id]

        orders = [load_record(_Order, item, product=product, variant=variant) for item in data["orders"]]
        with self._lock:
            self.account = Account.load(data["account"])
            self._next_order_id = int(data["next_order_id"])
            self._next_transaction_id = int(data["next_transaction_id"])
            self._orders = {o.id: o for o in orders}
            self._by_reference = {o.client_reference: o.id for o in orders if o.client_reference is not None}
            self._by_iccid = {o.iccid: o.id for o in orders if o.iccid is not None}


# ---------------------------------------------------------------- request helpers


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object with exact decimals, or None when it is not one."""
    try:
        value = jsonnum.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _paging(request: Request) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not _PAGE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
            raise Refused(400, f"{name} must be a whole number from {low} to {high}")
        return int(raw)

    return number("page", 1, 1, 10**9 - 1), number("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)


def _paged(items: list[dict[str, Any]], page: int, per_page: int) -> Response:
    """A bare JSON array with the paging in headers, as every Octopus list endpoint answers."""
    total = len(items)
    chunk = items[(page - 1) * per_page : page * per_page]
    pages = math.ceil(total / per_page)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total-Count": str(total),
        "X-Total-Pages": str(pages),
        "X-Page-Size": str(len(chunk)),
        "X-Has-More": "true" if page < pages else "false",
    }
    return JSONResponse(chunk, headers=headers)
