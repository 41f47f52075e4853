"""Reading provider values both adapters share: exact money, timestamps, ICCIDs.

Each returns the domain value or says plainly that the value is not one; the adapter decides whether
that skips an item or makes the whole answer a ``MalformedResponse``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from esim_tui.domain.codes import check_iccid
from esim_tui.domain.errors import InvalidIccid, MalformedResponse

log = logging.getLogger(__name__)


def decimal_value(value: Any) -> Decimal:
    """A JSON number or numeric string as Decimal. A float has already lost digits: refused."""
    if isinstance(value, float):
        raise TypeError("float money")
    if isinstance(value, bool):
        raise TypeError("boolean is not a number")
    return Decimal(str(value))


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 date-time (``Z`` allowed), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def provider_iccid(value: Any, provider: str) -> str | None:
    """The ICCID a provider sent, checked: not digits of a plausible length is malformed; a bad Luhn
    digit is only logged (vendors' own examples fail it)."""
    if not value:
        return None
    try:
        check = check_iccid(str(value))
    except InvalidIccid:
        raise MalformedResponse(provider, "the ICCID is not a number of 18 to 22 digits") from None
    for warning in check.warnings:
        log.warning("%s: ICCID ...%s %s", provider, check.iccid[-4:], warning)
    return check.iccid
