"""Where a customer travels: a country, a region, or the whole world.

Country codes and official names come from pycountry (ISO 3166); everyday English names ("South Korea",
"Vietnam") from Babel's CLDR data; ``ALIASES`` adds what customers say that neither has ("UK", "Holland",
former names like "Burma") and Kosovo (XK, a code in use but not in ISO 3166). A country's region is its continent in the IANA time-zone database,
as Babel ships it, so no hand-kept country table lives here.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from functools import cache

import pycountry
from pydantic import BaseModel, ConfigDict

from esim_tui.domain.errors import UnknownDestination


class DestinationKind(StrEnum):
    COUNTRY = "country"
    REGION = "region"
    GLOBAL = "global"


class Region(StrEnum):
    """The regions plans are sold for. The value is the region's display name."""

    EUROPE = "Europe"
    ASIA = "Asia"
    AFRICA = "Africa"
    AMERICAS = "Americas"
    OCEANIA = "Oceania"

    @property
    def code(self) -> str:
        """Three-letter code providers use for the region's products (never an ISO country code)."""
        return _REGION_CODES[self]

    @classmethod
    def from_code(cls, code: str) -> Region | None:
        for region, c in _REGION_CODES.items():
            if c == code.upper():
                return region
        return None

    @classmethod
    def from_name(cls, name: str) -> Region | None:
        wanted = name.strip().lower()
        for region in cls:
            if region.value.lower() == wanted:
                return region
        if wanted in ("north america", "south america", "latin america", "america"):
            return cls.AMERICAS
        return None


_REGION_CODES = {
    Region.EUROPE: "EUR",
    Region.ASIA: "ASI",
    Region.AFRICA: "AFR",
    Region.AMERICAS: "AMR",
    Region.OCEANIA: "OCN",
}

_TZ_CONTINENT = {
    "Europe": Region.EUROPE,
    "America": Region.AMERICAS,
    "Asia": Region.ASIA,
    "Africa": Region.AFRICA,
    "Pacific": Region.OCEANIA,
    "Australia": Region.OCEANIA,
}
# Territories whose only time zones are in an ocean ("Indian/...", "Atlantic/..."): placed by the
# continent they are administered from or lie next to.
_OCEAN_TERRITORIES = {
    "IS": Region.EUROPE, "FO": Region.EUROPE, "SJ": Region.EUROPE,
    "CV": Region.AFRICA, "SH": Region.AFRICA, "KM": Region.AFRICA, "MG": Region.AFRICA,
    "MU": Region.AFRICA, "YT": Region.AFRICA, "RE": Region.AFRICA, "SC": Region.AFRICA, "TF": Region.AFRICA,
    "MV": Region.ASIA, "IO": Region.ASIA, "CC": Region.ASIA, "CX": Region.ASIA,
    "BM": Region.AMERICAS, "FK": Region.AMERICAS, "GS": Region.AMERICAS,
    "XK": Region.EUROPE,  # Kosovo: no zone of its own in the database
}

# What customers and agents call a country that pycountry and Babel do not: everyday, former and
# constituent-country names. Searched like the official ones (catalogue_index ignores case and accents).
ALIASES: dict[str, tuple[str, ...]] = {
    "GB": ("UK", "U.K.", "Britain", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland"),
    "NL": ("Holland",),
    "TR": ("Turkey", "Turkiye"),
    "MO": ("Macau", "Macao"),
    "CI": ("Ivory Coast",),
    "CZ": ("Czech Republic", "Czechia"),
    "KR": ("Korea", "Republic of Korea"),
    "KP": ("North Korea",),
    "MK": ("Macedonia", "North Macedonia"),
    "MM": ("Burma", "Myanmar"),
    "SZ": ("Swaziland",),
    "CV": ("Cape Verde", "Cabo Verde"),
    "US": ("USA", "U.S.A.", "America", "United States of America", "the States"),
    "AE": ("UAE", "Emirates", "Dubai", "Abu Dhabi"),
    "RU": ("Russia",),
    "VN": ("Vietnam", "Viet Nam"),
    "LA": ("Laos",),
    "BO": ("Bolivia",),
    "IR": ("Iran", "Persia"),
    "SY": ("Syria",),
    "TW": ("Taiwan",),
    "VA": ("Vatican", "Vatican City", "Holy See"),
    "CD": ("DR Congo", "DRC", "Zaire"),
    "CG": ("Congo-Brazzaville", "Republic of the Congo"),
    "TL": ("East Timor",),
    "LK": ("Ceylon",),
    "PS": ("Palestine",),
    "BN": ("Brunei",),
    "HK": ("Hong Kong",),
    "XK": ("Republic of Kosovo",),
}

# Not in ISO 3166, but sold by providers under this code.
_EXTRA = (("XK", "XKX", "Kosovo"),)
_EXTRA_CODES = frozenset(code for code, _a3, _name in _EXTRA)


class Destination(BaseModel):
    """A destination as the counter sees it. ``key`` is unique across kinds."""

    model_config = ConfigDict(frozen=True)

    kind: DestinationKind
    code: str  # ISO alpha-2 for a country; the Region name for a region; "GLOBAL"
    name: str
    alpha3: str | None = None
    region: Region | None = None  # a country's continent, or the region itself
    aliases: tuple[str, ...] = ()  # other names an agent may type (official name, common name)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.code}"

    @property
    def label(self) -> str:
        if self.kind is DestinationKind.COUNTRY:
            return f"{self.name} ({self.code})"
        return self.name


GLOBAL = Destination(kind=DestinationKind.GLOBAL, code="GLOBAL", name="Global", aliases=("World", "Worldwide"))


@cache
def _babel_data() -> tuple[dict[str, str], dict[str, list[str]]]:
    from babel import Locale
    from babel.core import get_global

    return dict(Locale("en").territories), dict(get_global("territory_zones"))


def _region_of(alpha2: str) -> Region | None:
    if alpha2 in _OCEAN_TERRITORIES:
        return _OCEAN_TERRITORIES[alpha2]
    _names, zones = _babel_data()
    # The continent most of its zones are in; a tie goes to the one listed first in _TZ_CONTINENT
    # (Spain: Europe/Madrid against Africa/Ceuta; Ecuador: America against Pacific/Galapagos).
    counts = Counter(zone.split("/", 1)[0] for zone in zones.get(alpha2, []))
    best = max(_TZ_CONTINENT, key=lambda c: (counts[c], -list(_TZ_CONTINENT).index(c)))
    return _TZ_CONTINENT[best] if counts[best] else None


def _uninverted(name: str) -> str:
    """ "Korea, Republic of" -> "Republic of Korea": ISO's sorting form, as people say it."""
    head, sep, tail = name.partition(", ")
    return f"{tail} {head}" if sep and tail[:1].isupper() and "," not in tail else name


@cache
def all_countries() -> tuple[Destination, ...]:
    """Every ISO 3166 country, sorted by name (what the sandboxes sell)."""
    return tuple(d for d in known_countries() if d.code not in _EXTRA_CODES)


@cache
def known_countries() -> tuple[Destination, ...]:
    """Every ISO 3166 country and the few codes in use outside it (Kosovo), sorted by name."""
    names, _zones = _babel_data()
    known = [
        (c.alpha_2, c.alpha_3, c.name, getattr(c, "common_name", c.name), getattr(c, "official_name", c.name))
        for c in pycountry.countries
    ] + [(alpha2, alpha3, name, name, name) for alpha2, alpha3, name in _EXTRA]
    out = []
    for alpha2, alpha3, iso_name, common, official in known:
        name = names.get(alpha2, common or iso_name)
        given = (iso_name, common, official, *ALIASES.get(alpha2, ()))
        aliases = {a for g in given for a in (g, _uninverted(g))} - {name}
        out.append(
            Destination(
                kind=DestinationKind.COUNTRY,
                code=alpha2,
                name=name,
                alpha3=alpha3,
                region=_region_of(alpha2),
                aliases=tuple(sorted(aliases)),
            )
        )
    return tuple(sorted(out, key=lambda d: d.name))


@cache
def _by_code() -> dict[str, Destination]:
    table: dict[str, Destination] = {}
    for d in known_countries():
        table[d.code] = d
        table[d.alpha3 or d.code] = d
    return table


def country(value: str) -> Destination:
    """A country by ISO alpha-2, alpha-3 or name (official or everyday)."""
    text = value.strip()
    found = _by_code().get(text.upper())
    if found:
        return found
    wanted = text.casefold()
    for d in known_countries():
        if d.name.casefold() == wanted or any(a.casefold() == wanted for a in d.aliases):
            return d
    try:
        return _by_code()[pycountry.countries.lookup(text).alpha_2]
    except LookupError:
        raise UnknownDestination(value) from None


def region(value: Region | str) -> Destination:
    r = value if isinstance(value, Region) else (Region.from_name(value) or Region.from_code(value))
    if r is None:
        raise UnknownDestination(str(value))
    return Destination(kind=DestinationKind.REGION, code=r.value, name=r.value, region=r, aliases=(r.code,))


def countries_in(r: Region, *, known: bool = False) -> tuple[Destination, ...]:
    """The ISO countries of a region; ``known``: with Kosovo and the like."""
    return tuple(d for d in (known_countries() if known else all_countries()) if d.region is r)
