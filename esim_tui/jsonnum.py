"""JSON with exact decimal numbers: money goes over the wire as the provider wrote it, never via float."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

# A marker that cannot occur in real data: each Decimal is swapped for a quoted token, then unquoted.
_TOKEN = "\x00dec-" + uuid.uuid4().hex + ":"


def _swap(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as a JSON number")
        return f"{_TOKEN}{value}"
    if isinstance(value, dict):
        return {k: _swap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_swap(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Serialise ``value``; every Decimal becomes a bare JSON number with its exact digits."""
    text = json.dumps(_swap(value), ensure_ascii=False, separators=(",", ":"))
    # json.dumps escapes \x00 as \u0000 inside strings.
    escaped = json.dumps(_TOKEN)[1:-1]
    out: list[str] = []
    start = 0
    needle = '"' + escaped
    while (i := text.find(needle, start)) != -1:
        end = text.index('"', i + len(needle))
        out.append(text[start:i])
        out.append(text[i + len(needle) : end])
        start = end + 1
    out.append(text[start:])
    return "".join(out)


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal (money never passes through float)."""
    return json.loads(text, parse_float=Decimal)
