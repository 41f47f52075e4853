"""The simulated Octopus Cards eSIM catalogue, generated from a seed.

One product per ISO 3166 country ("Japan eSIM", country_code JPN), one per Region ("Europe eSIM",
country_code EUR) and one global product ("Global eSIM", GLO), each with a ladder of 3 to 6 variants.
The same seed always gives the same catalogue; only ``random.Random(seed)`` is used.

The provider's own documented example is pinned whatever the seed: product 712 is "Japan eSIM" with
exactly the variants 5511 "Japan 1 GB / 7 days" at 4.50, "Japan 5 GB / 30 days" at 14.90 and
"Japan 20 GB / 30 days" at 39.90, all with a 5.0 % client discount.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

from esim_tui.domain.destinations import Region, all_countries, countries_in

CURRENCY = "USD"
GLOBAL_CODE = "GLO"
JAPAN_PRODUCT_ID = 712
JAPAN_VARIANT_IDS = (5511, 5512, 5513)

_FIRST_COUNTRY_ID = 601
_FIRST_REGION_ID = 901
GLOBAL_PRODUCT_ID = 999
_FIRST_VARIANT_ID = 5001

_CENT = Decimal("0.01")
_DIME = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    country_code: str
    image_url: str
    currency_code: str = CURRENCY

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "image_url": self.image_url,
        }


@dataclass(frozen=True, slots=True)
class Variant:
    id: int
    esim_product_id: int
    name: str
    description: str
    amount: Decimal  # wholesale price; with the product id it selects the variant on create
    data_amount_gb: Decimal  # 0 for unlimited plans
    validity_days: int
    client_discount: Decimal  # percent off the wallet debit, e.g. 5.0
    active: bool = True
    currency_code: str = CURRENCY

    @property
    def unlimited(self) -> bool:
        return self.data_amount_gb == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "esim_product_id": self.esim_product_id,
            "name": self.name,
            "description": self.description,
            "currency_code": self.currency_code,
            "amount": self.amount,
            "data_amount_gb": self.data_amount_gb,
            "validity_days": self.validity_days,
            "client_discount": self.client_discount,
        }


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: Mapping[int, Product]
    variants: Mapping[int, Variant]  # every variant, inactive ones included
    _by_product: Mapping[int, tuple[Variant, ...]]

    def variants_of(self, product_id: int, *, include_inactive: bool = False) -> tuple[Variant, ...]:
        found = self._by_product.get(product_id, ())
        return found if include_inactive else tuple(v for v in found if v.active)

    def active_variants(self) -> Iterator[Variant]:
        return (v for v in self.variants.values() if v.active)

    def resolve(self, product_id: int, amount: Decimal) -> Variant | None:
        """The active variant of ``product_id`` whose amount equals ``amount`` exactly (4.5 == 4.50)."""
        return next((v for v in self.variants_of(product_id) if v.amount == amount), None)


# (data in GB, validity in days, base price in USD at price factor 1.00), cheapest first.
# Japan's documented prices are these bases at factor 1.00.
_LADDER = (
    (Decimal("0.5"), 3, Decimal("2.50")),
    (Decimal("1.0"), 7, Decimal("4.50")),
    (Decimal("3.0"), 15, Decimal("9.90")),
    (Decimal("5.0"), 30, Decimal("14.90")),
    (Decimal("10.0"), 30, Decimal("24.90")),
    (Decimal("20.0"), 30, Decimal("39.90")),
    (Decimal("50.0"), 60, Decimal("79.90")),
)
_UNLIMITED = (
    (7, Decimal("29.90")),
    (15, Decimal("49.90")),
    (30, Decimal("84.90")),
)
_DISCOUNTS = (Decimal("0.0"), Decimal("3.0"), Decimal("5.0"), Decimal("5.0"), Decimal("7.5"), Decimal("10.0"))
_VARIANT_COUNTS = (3, 4, 4, 5, 5, 5, 6, 6)  # weighted towards 4-5 plans per destination


def _price(base: Decimal, factor: Decimal) -> Decimal:
    """A shelf price: ``base * factor`` to the nearest ten cents, written with two decimals (e.g. 14.90)."""
    return max(Decimal("1.00"), (base * factor).quantize(_DIME)).quantize(_CENT)


def _description(data_gb: Decimal, days: int, coverage: str) -> str:
    if data_gb == 0:
        return f"Unlimited data {coverage}; speeds may be reduced after heavy daily use"
    if days <= 7:
        return f"Data-only eSIM for short trips {coverage}"
    if days <= 15:
        return f"Data-only eSIM for a week or two {coverage}"
    return f"Data-only eSIM for longer stays {coverage}"


def _plan_name(place: str, data_gb: Decimal, days: int) -> str:
    # As Octopus writes its names: under 1 GB in MB ("France 500 MB / 3 days"), never "0.5 GB".
    if data_gb == 0:
        data = "Unlimited"
    else:
        data = f"{data_gb * 1000:.0f} MB" if data_gb < 1 else f"{data_gb.normalize():f} GB"
    return f"{place} {data} / {days} {'day' if days == 1 else 'days'}"


def _image_url(code: str) -> str:
    return f"https://cdn.sandbox.octopuscards.example/esim/{code.lower()}.png"


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.products: dict[int, Product] = {}
        self.by_product: dict[int, list[Variant]] = {}
        self._next_variant = _FIRST_VARIANT_ID

    def variant_id(self) -> int:
        while self._next_variant in JAPAN_VARIANT_IDS:
            self._next_variant += 1
        vid = self._next_variant
        self._next_variant += 1
        return vid

    def add_product(self, product: Product) -> None:
        self.products[product.id] = product
        self.by_product[product.id] = []

    def add_japan(self) -> None:
        self.add_product(Product(JAPAN_PRODUCT_ID, "Japan eSIM", "JPN", _image_url("JPN")))
        discount = Decimal("5.0")
        for vid, (gb, days, price) in zip(JAPAN_VARIANT_IDS, (_LADDER[1], _LADDER[3], _LADDER[5]), strict=True):
            self.by_product[JAPAN_PRODUCT_ID].append(
                Variant(vid, JAPAN_PRODUCT_ID, _plan_name("Japan", gb, days), _description(gb, days, "in Japan"), price, gb, days, discount)
            )

    def add_seeded(self, product: Product, place: str, coverage: str, factor: Decimal, unlimited_chance: float) -> None:
        rng = self.rng
        self.add_product(product)
        count = rng.choice(_VARIANT_COUNTS)
        want_unlimited = rng.random() < unlimited_chance
        limited = sorted(rng.sample(range(len(_LADDER)), count - 1 if want_unlimited else count))
        plans = [_LADDER[i] for i in limited]
        if want_unlimited:
            days, base = rng.choice(_UNLIMITED)
            plans.append((Decimal("0.0"), days, base))
        discount = rng.choice(_DISCOUNTS)
        # Now and then a plan has been withdrawn: it stays in the data but no answer shows it.
        retired = rng.random() < 0.04
        if retired:
            unused = [p for p in _LADDER if p not in plans]
            plans.append(rng.choice(unused))
        taken: set[Decimal] = set()
        for n, (gb, days, base) in enumerate(plans):
            amount = _price(base, factor)
            while amount in taken:  # (product, amount) must pick exactly one variant
                amount += _DIME
            taken.add(amount)
            active = not (retired and n == len(plans) - 1)
            self.by_product[product.id].append(
                Variant(self.variant_id(), product.id, _plan_name(place, gb, days), _description(gb, days, coverage), amount, gb, days, discount, active)
            )

    def factor(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low, high)) / 100

    def build(self) -> Catalogue:
        product_id = _FIRST_COUNTRY_ID
        for country in all_countries():
            if country.alpha3 == "JPN":
                self.add_japan()
                continue
            if product_id == JAPAN_PRODUCT_ID:
                product_id += 1
            code = country.alpha3 or country.code
            product = Product(product_id, f"{country.name} eSIM", code, _image_url(code))
            self.add_seeded(product, country.name, f"in {country.name}", self.factor(60, 240), 0.12)
            product_id += 1
        for n, region in enumerate(Region):
            product = Product(_FIRST_REGION_ID + n, f"{region.value} eSIM", region.code, _image_url(region.code))
            coverage = f"in {len(countries_in(region))} countries across {region.value}"
            self.add_seeded(product, region.value, coverage, self.factor(130, 220), 1.0)
        product = Product(GLOBAL_PRODUCT_ID, "Global eSIM", GLOBAL_CODE, _image_url(GLOBAL_CODE))
        self.add_seeded(product, "Global", "in over 120 countries", self.factor(220, 320), 1.0)

        variants = {v.id: v for vs in self.by_product.values() for v in vs}
        by_product = {pid: tuple(sorted(vs, key=lambda v: v.amount)) for pid, vs in self.by_product.items()}
        # Read-only views: one cached catalogue is shared by every sandbox built with the same seed.
        return Catalogue(
            MappingProxyType(dict(sorted(self.products.items()))),
            MappingProxyType(dict(sorted(variants.items()))),
            MappingProxyType(by_product),
        )


@cache
def build_catalogue(seed: int) -> Catalogue:
    """The catalogue for ``seed`` (cached: it is immutable and identical for the same seed)."""
    return _Builder(seed).build()
