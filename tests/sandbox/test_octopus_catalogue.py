"""The seeded Octopus Cards catalogue: deterministic, complete, and the seed document's example intact."""

from __future__ import annotations

import random
from decimal import Decimal

from esim_tui.domain.destinations import Region, all_countries
from esim_tui.sandbox.octopus_catalogue import GLOBAL_CODE, build_catalogue


def _snapshot(seed: int) -> list[tuple]:
    cat = build_catalogue.__wrapped__(seed)  # bypass the cache: really build it twice
    return [p.to_json() for p in cat.products.values()] + [(v.to_json(), v.active) for v in cat.variants.values()]


def test_same_seed_gives_an_identical_catalogue() -> None:
    assert _snapshot(2026) == _snapshot(2026)


def test_a_different_seed_gives_a_different_catalogue() -> None:
    assert _snapshot(2026) != _snapshot(7)


def test_building_leaves_the_global_random_alone() -> None:
    random.seed(99)
    expected = random.random()
    random.seed(99)
    build_catalogue.__wrapped__(123)
    assert random.random() == expected


def test_well_over_a_thousand_active_variants() -> None:
    cat = build_catalogue(2026)
    assert sum(1 for _ in cat.active_variants()) > 1100


def test_every_country_has_its_own_product() -> None:
    cat = build_catalogue(2026)
    by_code = {p.country_code: p for p in cat.products.values()}
    for country in all_countries():
        product = by_code[country.alpha3]
        assert product.name == f"{country.name} eSIM"


def test_one_product_per_region_and_one_global() -> None:
    cat = build_catalogue(2026)
    by_code = {p.country_code: p for p in cat.products.values()}
    for region in Region:
        assert by_code[region.code].name == f"{region.value} eSIM"
    assert by_code[GLOBAL_CODE].name == "Global eSIM"
    assert len(cat.products) == len(all_countries()) + len(Region) + 1
    assert len({p.country_code for p in cat.products.values()}) == len(cat.products)


def test_product_712_is_exactly_the_seed_documents_japan_example() -> None:
    for seed in (2026, 1, 424242):
        cat = build_catalogue(seed)
        japan = cat.products[712]
        assert japan.to_json() == {
            "id": 712,
            "name": "Japan eSIM",
            "country_code": "JPN",
            "currency_code": "USD",
            "image_url": japan.image_url,
        }
        assert japan.image_url.startswith("https://")
        plans = [(v.id, v.name, v.amount, v.data_amount_gb, v.validity_days) for v in cat.variants_of(712, include_inactive=True)]
        assert plans == [
            (5511, "Japan 1 GB / 7 days", Decimal("4.50"), Decimal("1.0"), 7),
            (5512, "Japan 5 GB / 30 days", Decimal("14.90"), Decimal("5.0"), 30),
            (5513, "Japan 20 GB / 30 days", Decimal("39.90"), Decimal("20.0"), 30),
        ]
        assert all(v.client_discount == Decimal("5.0") and v.active for v in cat.variants_of(712))
        assert str(cat.variants[5511].amount) == "4.50"  # the digits the docs show, not 4.5


def test_every_product_has_three_to_six_active_variants_with_distinct_amounts() -> None:
    cat = build_catalogue(2026)
    for product in cat.products.values():
        active = cat.variants_of(product.id)
        assert 3 <= len(active) <= 6, product.name
        every = cat.variants_of(product.id, include_inactive=True)
        # (product_id, amount) selects the variant, so an amount may occur once per product.
        assert len({v.amount for v in every}) == len(every), product.name


def test_variants_are_well_formed() -> None:
    cat = build_catalogue(2026)
    for v in cat.variants.values():
        assert isinstance(v.amount, Decimal) and v.amount > 0 and v.amount == v.amount.quantize(Decimal("0.01"))
        assert isinstance(v.data_amount_gb, Decimal) and v.data_amount_gb >= 0
        assert isinstance(v.client_discount, Decimal) and 0 <= v.client_discount < 100
        assert isinstance(v.validity_days, int) and v.validity_days > 0
        assert v.currency_code == "USD"
        assert v.esim_product_id in cat.products
        assert set(v.to_json()) == {
            "id", "esim_product_id", "name", "description", "currency_code", "amount", "data_amount_gb", "validity_days", "client_discount",
        }


def test_some_plans_are_unlimited_and_some_withdrawn() -> None:
    cat = build_catalogue(2026)
    unlimited = [v for v in cat.active_variants() if v.data_amount_gb == 0]
    assert 5 <= len(unlimited) < 200
    assert all("Unlimited" in v.name for v in unlimited)
    inactive = [v for v in cat.variants.values() if not v.active]
    assert 1 <= len(inactive) < 40


def test_bigger_plans_cost_more_within_a_product() -> None:
    cat = build_catalogue(2026)
    for product in cat.products.values():
        limited = [v for v in cat.variants_of(product.id) if v.data_amount_gb > 0]
        by_data = sorted(limited, key=lambda v: v.data_amount_gb)
        assert [v.amount for v in by_data] == sorted(v.amount for v in by_data), product.name
