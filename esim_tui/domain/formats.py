"""How numbers read to a person: money, data amounts, days and dates, in the shop's locale.

The locale is the config's ``[ui] locale`` (default ``en``), set once at start with ``use_locale``.
Babel is imported on first use, never on the first paint. These are for display only: a record keeps
the exact Decimal and bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_LOCALE = "en"
MB_PER_GB = 1000  # base-10, as providers count data (1 GB = 1000 MB = 10**9 bytes)

_locale = DEFAULT_LOCALE
_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def parse_locale(code: str) -> str:
    """``code`` ("en", "en_GB", "de-CH") as Babel names it; ValueError when Babel has no such locale."""
    from babel import Locale, UnknownLocaleError

    text = code.strip().replace("-", "_")
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{code!r} is not a locale Babel knows (e.g. en, en_GB, de, fr_CH)") from None


def use_locale(code: str, *, clock: Callable[[], datetime] | None = None) -> None:
    """The shop's locale (and the clock that says which year is the current one) from now on."""
    global _locale, _clock
    _locale = parse_locale(code)
    if clock is not None:
        _clock = clock


def shop_locale() -> str:
    return _locale


def money(amount: Decimal, currency: str) -> str:
    """"4.28 USD", "1,200 JPY", "1.250 KWD": the currency's minor units, half up; "1.234,50 EUR" in de."""
    from babel.numbers import format_decimal, get_currency_precision

    digits = get_currency_precision(currency)
    shown = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{format_decimal(shown, format=pattern, locale=_locale, decimal_quantization=True)} {currency}"


def megabytes(mb: int | Decimal) -> str:
    """"750 MB", "1.5 GB", "10 GB": below 1 GB in whole MB, from 1 GB in GB with at most one decimal."""
    mb = Decimal(mb).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if abs(mb) < MB_PER_GB:
        return f"{_number(mb, 0)} MB"
    return f"{_number(mb / MB_PER_GB, 1)} GB"


def data_bytes(n: int) -> str:
    """Bytes as ``megabytes`` writes them; below 1 MB in whole KB, so a trickle left is not "0 MB"."""
    if 0 < abs(n) < 999_500:  # what would round to under 1 MB
        return f"{_number(Decimal(n) / 1000, 0)} KB" if abs(n) >= 500 else f"{n} B"
    return megabytes(Decimal(n) / 10**6)


def count(n: int, one: str, many: str) -> str:
    """"1 day", "7 days", "2 delivered eSIMs were"."""
    return f"{_number(Decimal(n), 0)} {one if n == 1 else many}"


def days(n: int) -> str:
    return count(n, "day", "days")


def moment(at: datetime | None, now: datetime | None = None) -> str:
    """"22 Nov 09:00"; "04 Jan 2027 09:00" when not in the current year (``now``, else the shop's clock)."""
    return _date(at, now, "dd MMM", " HH:mm")


def day(at: datetime | None, now: datetime | None = None) -> str:
    """"22 Nov"; "04 Jan 2025" when not in the current year."""
    return _date(at, now, "dd MMM", "")


def _date(at: datetime | None, now: datetime | None, date: str, time: str) -> str:
    if at is None:
        return "—"
    from babel.dates import format_datetime

    current = now or _clock()
    if at.tzinfo is not None and current.tzinfo is not None:
        current = current.astimezone(at.tzinfo)
    pattern = date + ("" if at.year == current.year else " y") + time
    return format_datetime(at, pattern, tzinfo=at.tzinfo, locale=_locale)


def _number(value: Decimal, places: int) -> str:
    """At most ``places`` decimals, a trailing zero dropped ("1.5", "2", never "2.0")."""
    from babel.numbers import format_decimal

    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return format_decimal(shown, format=pattern, locale=_locale)
