"""The simulated world of Octopus Cards: its numbers, its orders, how an order turns out (a scenario's or a
booked fault's choice), and the wire helpers every endpoint uses."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from esim_tui import jsonnum
from esim_tui.sandbox.core import (
    JSONResponse,
    Outcome,
    Refused,
)
from esim_tui.sandbox.faults import Fault, FaultKind
from esim_tui.sandbox.octopus_catalogue import (
    Product,
    Variant,
)

API = "/api/v1"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
INLINE_DEADLINE_SECONDS = 60  # the provider answers PENDING when fulfilment takes longer than this
SMDP_HOST = "rsp.sandbox.octopuscards.example"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
ORDER_STATUSES = ("PENDING", "DELIVERED", "FAILED", "CANCELLED")
MAX_REFERENCE_LENGTH = 255
FIRST_ORDER_ID = 9302481
FIRST_TRANSACTION_ID = 7402011
PAGE_NUMBER = re.compile(r"[0-9]{1,9}")
PLACE_CODE = re.compile(r"[A-Za-z]{3}")
EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
MATCHING_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ERROR_NAMES = {
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


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


def failure_from(params: dict[str, Any]) -> dict[str, Any]:
    code = str(params.get("failure_code", PLAN_UNAVAILABLE["failure_code"]))
    default_reason = PLAN_UNAVAILABLE["failure_reason"] if code == "PLAN_UNAVAILABLE" else "The eSIM could not be issued"
    return {
        "failure_code": code,
        "failure_reason": str(params.get("failure_reason", default_reason)),
        "is_user_fixable": truthy(params.get("is_user_fixable", True)),
    }


def fault_outcome(fault: Fault) -> Outcome:
    """A booked "pending" or "fail" fault. A "pending" fault with a failure_code resolves FAILED."""
    if fault.kind is FaultKind.PENDING:
        seconds = max(0.0, float(fault.params.get("seconds", INLINE_DEADLINE_SECONDS)))
        failure = failure_from(fault.params) if "failure_code" in fault.params else None
        return Outcome("pending", pending_seconds=seconds, failure=failure)
    return Outcome("fail", failure=failure_from(fault.params))


@dataclass
class SimOrder:
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


def ts(moment: datetime | None) -> str | None:
    """ISO 8601 UTC to the second, as the provider writes it: 2026-05-15T18:42:11Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wallet_debit(amount: Decimal, discount_percent: Decimal) -> Decimal:
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


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass
class Tokens:
    access: dict[str, datetime] = field(default_factory=dict)  # token -> expiry (simulated)
    refresh: dict[str, datetime] = field(default_factory=dict)


async def json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object with exact decimals, or None when it is not one."""
    try:
        value = jsonnum.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def paging(request: Request) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not PAGE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
            raise Refused(400, f"{name} must be a whole number from {low} to {high}")
        return int(raw)

    return number("page", 1, 1, 10**9 - 1), number("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)


def paged(items: list[dict[str, Any]], page: int, per_page: int) -> Response:
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

