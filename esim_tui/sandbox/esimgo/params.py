"""Query parameters as eSIM Go reads them: a bad one is a 400 with the parameter's name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeGuard

from starlette.requests import Request

from esim_tui.sandbox.core import (
    Refused,
)


def bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise Refused(400, f"{name} must be true or false")


def int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not text.isdigit() or len(text) > 9:
        raise Refused(400, f"{name} must be a whole number")
    value = int(text)
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Refused(400, f"{name} must be {span}")
    return value


def is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


_OPERATORS = ("eq", "lt", "lte", "gt", "gte")


def time_filter(raw: str) -> Callable[[datetime], bool]:
    """``createdAt=gte:2026-11-22T00:00:00.000Z`` (operators eq, lt, lte, gt, gte; bare value = eq)."""
    op, sep, value = raw.partition(":")
    if not sep or op not in _OPERATORS:
        op, value = "eq", raw
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Refused(400, f"createdAt: {raw!r} is not <operator>:<ISO 8601 date-time>, e.g. gte:2026-11-22T00:00:00.000Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return {
        "eq": lambda t: t == moment,
        "lt": lambda t: t < moment,
        "lte": lambda t: t <= moment,
        "gt": lambda t: t > moment,
        "gte": lambda t: t >= moment,
    }[op]


def accepted_format(accept: str) -> str | None:
    """csv, json or zip from an Accept header, first acceptable type first; CSV when unsaid."""
    if not accept.strip():
        return "csv"
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "application/zip":
            return "zip"
        if media == "application/json":
            return "json"
        if media in ("text/csv", "text/*", "*/*"):
            return "csv"
    return None

