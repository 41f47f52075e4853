"""How money, data, days and dates read at the counter, in the shop's locale."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from esim_tui.domain import formats
from esim_tui.domain.money import Money, format_money
from esim_tui.domain.plans import format_bytes, format_megabytes

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    formats.use_locale("en")
    yield
    formats.use_locale("en")


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("4.275", "USD", "4.28 USD"),  # the provider's third decimal rounds half up for display
        ("4.5", "USD", "4.50 USD"),
        ("1234.5", "USD", "1,234.50 USD"),
        ("1200", "JPY", "1,200 JPY"),  # the yen has no minor unit
        ("1199.5", "JPY", "1,200 JPY"),
        ("1.2505", "KWD", "1.251 KWD"),  # the dinar has three
        ("0", "EUR", "0.00 EUR"),
    ],
)
def test_money_reads_in_its_currencys_minor_units(amount, currency, shown):
    money = Money(amount=Decimal(amount), currency=currency)
    assert format_money(money) == str(money) == shown
    assert money.amount == Decimal(amount)  # the record keeps the exact figure


@pytest.mark.parametrize(
    ("mb", "shown"),
    [(500, "500 MB"), (750, "750 MB"), (999, "999 MB"), (1000, "1 GB"), (1500, "1.5 GB"), (1050, "1.1 GB"), (10000, "10 GB"), (Decimal("999.6"), "1 GB")],
)
def test_data_reads_in_mb_below_a_gb_and_in_gb_from_one(mb, shown):
    assert format_megabytes(mb) == shown


@pytest.mark.parametrize(
    ("n", "shown"),
    [(750_000_000, "750 MB"), (750_004_321, "750 MB"), (1_500_000_000, "1.5 GB"), (10**10, "10 GB"), (800_000, "800 KB"), (0, "0 MB")],
)
def test_bytes_read_as_the_same_units_never_with_two_decimals(n, shown):
    assert format_bytes(n) == shown


def test_one_day_is_singular():
    assert (formats.days(1), formats.days(7), formats.count(1, "eSIM", "eSIMs"), formats.count(3, "eSIM", "eSIMs")) == ("1 day", "7 days", "1 eSIM", "3 eSIMs")


def test_a_date_shows_its_year_only_when_not_the_current_one():
    assert formats.moment(datetime(2026, 12, 22, 9, 0, tzinfo=UTC), NOW) == "22 Dec 09:00"
    assert formats.moment(datetime(2027, 1, 4, 9, 30, tzinfo=UTC), NOW) == "04 Jan 2027 09:30"
    assert formats.moment(datetime(2025, 12, 31, 23, 0, tzinfo=UTC), NOW) == "31 Dec 2025 23:00"
    assert formats.moment(None, NOW) == "—"


def test_the_current_year_comes_from_the_clock_given():
    formats.use_locale("en", clock=lambda: datetime(2027, 2, 1, tzinfo=UTC))
    try:
        assert formats.moment(datetime(2027, 1, 4, 9, 30, tzinfo=UTC)) == "04 Jan 09:30"
    finally:
        formats.use_locale("en", clock=lambda: datetime.now(UTC))


def test_the_shops_locale_writes_numbers_its_way():
    formats.use_locale("de")
    assert format_money(Money(amount=Decimal("1234.5"), currency="EUR")) == "1.234,50 EUR"
    assert format_megabytes(1500) == "1,5 GB"


@pytest.mark.parametrize("code", ["en", "en_GB", "de-CH", "fr"])
def test_a_locale_babel_knows_is_taken(code):
    assert formats.parse_locale(code) == code.replace("-", "_")


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="not a locale"):
        formats.parse_locale("xx_NOPE")


def test_a_day_shows_its_year_only_when_not_the_current_one():
    assert formats.day(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), NOW) == "01 Mar"
    assert formats.day(datetime(2025, 12, 31, 9, 0, tzinfo=UTC), NOW) == "31 Dec 2025"
