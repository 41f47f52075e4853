"""The simulated eSIM Go bundle catalogue, generated from a seed (providers.md A.1).

Names follow eSIM Go's pattern ``esim_<data>_<days>D_<area>_V2``; ``<area>`` is an ISO 3166 alpha-2
code for a country bundle, ``R`` + the Region's three-letter code for a regional one (``REUR``,
``RASI``, ``RAFR``, ``RAMR``, ``ROCN``) and ``RGBS`` for the global ones. Unlimited bundles use eSIM Go's
groups ``esim_UL_`` (Lite), ``esim_ULE_`` (Essential) and ``esim_ULP_`` (Plus); their ``dataAmount``
is -1, as third-party clients see it.

Every country of ``all_countries()`` has at least 1GB/7D, 3GB/30D and 5GB/30D, plus a seeded choice of
larger and unlimited bundles. Each Region has a ladder of regional bundles covering exactly the
region's countries; the global bundles cover every country. The same seed always gives the same
catalogue; only ``random.Random(seed)`` is used.

Pinned whatever the seed: the ordering guide's ``esim_1GB_7D_NL_V2`` exists as written, and the prices
seen in the wild (esim_1GB_7D_GB_V2 = 1.36, esim_1GB_7D_AX_V2 = 2.28 USD) hold.

Compatibility (top-ups): each bundle runs on an operator profile (v2.5 calls it ``profileName``; v2.4
does not show it). Unlimited bundles run on "Profile 2", all others on "Profile 1". An eSIM takes the
profile of the first bundle it was issued with and accepts top-ups only of the same profile.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

from esim_tui.domain.destinations import Destination, Region, all_countries, countries_in

GLOBAL_CODE = "RGBS"
PROFILE_STANDARD = "Profile 1"
PROFILE_UNLIMITED = "Profile 2"
IMAGE_BASE = "https://images.sandbox.esim-go.example/flags"
NO_REGION = "Antarctica"  # the name used for the few territories no continent claims (AQ, BV, HM)

GROUP_FIXED = "Standard Fixed"
GROUP_LONG = "Standard Long Duration"
GROUP_UL = "Standard Unlimited Lite"
GROUP_ULE = "Standard Unlimited Essential"
GROUP_ULP = "Standard Unlimited Plus"

PINNED_PRICES = {
    "esim_1GB_7D_GB_V2": Decimal("1.36"),
    "esim_1GB_7D_AX_V2": Decimal("2.28"),
}

_CENT = Decimal("0.01")

# (GB, days, percent of the per-GB price): bigger bundles cost less per GB.
_ALWAYS = ((1, 7, 100), (3, 30, 85), (5, 30, 75))
_OPTIONAL = ((2, 15, 92), (10, 30, 60), (20, 30, 50), (50, 90, 42))
_REGIONAL = ((1, 7, 100), (3, 30, 85), (5, 30, 75), (10, 30, 60), (20, 30, 50))
_GLOBAL = ((1, 7, 100), (5, 30, 75), (10, 30, 60), (50, 90, 42))
# (prefix, group, label, percent of the Lite day rate)
_UNLIMITED_KINDS = (("UL", GROUP_UL, "Unlimited Lite", 100), ("ULE", GROUP_ULE, "Unlimited Essential", 130), ("ULP", GROUP_ULP, "Unlimited Plus", 170))
_UNLIMITED_DAYS = (1, 3, 7, 15)
_SPEEDS = (("3G", "4G", "5G"), ("4G", "5G"), ("2G", "3G", "4G"), ("3G", "4G"))


def region_code(region: Region) -> str:
    """The area part of a regional bundle's name: ``R`` + the Region's code (REUR, RASI, ...)."""
    return "R" + region.code


@dataclass(frozen=True, slots=True)
class CatalogueCountry:
    name: str
    region: str
    iso: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "region": self.region, "iso": self.iso}


@dataclass(frozen=True, slots=True)
class CatalogueBundle:
    name: str
    description: str
    group: str
    countries: tuple[CatalogueCountry, ...]
    data_mb: int | None  # base-10 MB (1 GB = 1000); None when unlimited
    duration_days: int
    speed: tuple[str, ...]
    price: Decimal
    profile_name: str
    image_url: str
    roaming: tuple[CatalogueCountry, ...] = ()
    autostart: bool = True

    @property
    def unlimited(self) -> bool:
        return self.data_mb is None

    @property
    def data_bytes(self) -> int | None:
        """Bytes, base 10, as the assignment endpoints count them."""
        return None if self.data_mb is None else self.data_mb * 1_000_000

    @property
    def isos(self) -> frozenset[str]:
        return frozenset(c.iso for c in self.countries)

    def to_json(self, *, groups: bool = True) -> dict[str, Any]:
        """The bundle as ``GET /catalogue`` lists it; ``groups=False`` for ``/catalogue/bundle/{name}``
        (the v2.4 BundleCatalogueResponse has no groups)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if groups:
            out["groups"] = [self.group]
        out.update(
            {
                "countries": [c.to_json() for c in self.countries],
                "dataAmount": -1 if self.data_mb is None else self.data_mb,
                "duration": self.duration_days,
                "speed": list(self.speed),
                "autostart": self.autostart,
                "unlimited": self.unlimited,
                "roamingEnabled": [c.to_json() for c in self.roaming],
                "imageUrl": self.image_url,
                "price": self.price,
                "billingType": "FixedCost",
            }
        )
        return out


@dataclass(frozen=True)
class Catalogue:
    bundles: tuple[CatalogueBundle, ...]  # sorted by name
    by_name: Mapping[str, CatalogueBundle]

    def get(self, name: str) -> CatalogueBundle | None:
        """Exact, case-sensitive lookup, as eSIM Go names work."""
        return self.by_name.get(name)


def _country(d: Destination) -> CatalogueCountry:
    return CatalogueCountry(d.name, d.region.value if d.region else NO_REGION, d.code)


def _price(cents: int) -> Decimal:
    return (Decimal(max(cents, 50)) / 100).quantize(_CENT)


def _days(n: int) -> str:
    return f"{n} Day" if n == 1 else f"{n} Days"


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.out: list[CatalogueBundle] = []

    def fixed(self, area: str, label: str, countries, ladder, per_gb_cents: int, day_cents: int, speed, image: str, roaming=()) -> None:
        for gb, days, percent in ladder:
            name = f"esim_{gb}GB_{days}D_{area}_V2"
            price = PINNED_PRICES.get(name) or _price(per_gb_cents * gb * percent // 100 + day_cents * days)
            self.out.append(
                CatalogueBundle(
                    name=name,
                    description=f"eSIM, {gb}GB, {_days(days)}, {label}, V2",
                    group=GROUP_LONG if days >= 90 else GROUP_FIXED,
                    countries=tuple(countries),
                    data_mb=gb * 1000,
                    duration_days=days,
                    speed=speed,
                    price=price,
                    profile_name=PROFILE_STANDARD,
                    image_url=image,
                    roaming=tuple(roaming),
                )
            )

    def unlimited(self, area: str, label: str, countries, kinds, days_list, ul_day_cents: int, speed, image: str) -> None:
        for prefix, group, kind_label, percent in kinds:
            for days in days_list:
                self.out.append(
                    CatalogueBundle(
                        name=f"esim_{prefix}_{days}D_{area}_V2",
                        description=f"eSIM, {kind_label}, {_days(days)}, {label}, V2",
                        group=group,
                        countries=tuple(countries),
                        data_mb=None,
                        duration_days=days,
                        speed=speed,
                        price=_price(ul_day_cents * days * percent // 100),
                        profile_name=PROFILE_UNLIMITED,
                        image_url=image,
                    )
                )

    def build(self) -> Catalogue:
        rng = self.rng
        countries = all_countries()
        by_region = {r: [_country(d) for d in countries_in(r)] for r in Region}
        for d in countries:
            here = _country(d)
            per_gb = rng.randint(90, 700)  # cents per GB: cheap in busy markets, dear on remote islands
            day = rng.randint(0, 4)
            speed = rng.choice(_SPEEDS)
            ladder = _ALWAYS + tuple(b for b in _OPTIONAL if rng.random() < 0.5)
            roaming: list[CatalogueCountry] = []
            neighbours = [c for c in by_region.get(d.region, []) if c.iso != d.code] if d.region else []
            if neighbours and rng.random() < 0.1:
                roaming = sorted(rng.sample(neighbours, min(len(neighbours), rng.randint(1, 3))), key=lambda c: c.iso)
            image = f"{IMAGE_BASE}/{d.code.lower()}.png"
            self.fixed(d.code, d.name, [here], ladder, per_gb, day, speed, image, roaming)
            if rng.random() < 0.4:
                kinds = tuple(k for k in _UNLIMITED_KINDS if k[0] == "UL" or rng.random() < 0.5)
                days_list = tuple(n for n in _UNLIMITED_DAYS if n == 1 or rng.random() < 0.6)
                self.unlimited(d.code, d.name, [here], kinds, days_list, rng.randint(150, 600), speed, image)
        for region in Region:
            members = by_region[region]
            image = f"{IMAGE_BASE}/region-{region.code.lower()}.png"
            speed = ("3G", "4G", "5G")
            self.fixed(region_code(region), region.value, members, _REGIONAL, rng.randint(200, 450), rng.randint(0, 3), speed, image)
            self.unlimited(region_code(region), region.value, members, _UNLIMITED_KINDS[:1], (7, 15), rng.randint(400, 800), speed, image)
        everywhere = [_country(d) for d in countries]
        self.fixed(GLOBAL_CODE, "Global", everywhere, _GLOBAL, rng.randint(500, 900), 5, ("3G", "4G", "5G"), f"{IMAGE_BASE}/global.png")
        bundles = tuple(sorted(self.out, key=lambda b: b.name))
        by_name = {b.name: b for b in bundles}
        if len(by_name) != len(bundles):
            raise AssertionError("duplicate bundle names in the generated catalogue")
        return Catalogue(bundles, MappingProxyType(by_name))


@cache
def build_catalogue(seed: int) -> Catalogue:
    """The catalogue for ``seed`` (cached: it is immutable and identical for the same seed)."""
    return _Builder(seed).build()
