"""The catalogue as the counter searches it: destinations with their plans from every provider.

Built once per catalogue load; a keystroke only filters the few hundred destinations, never the plans.
A country is offered its own plans and the regional and global plans that cover it (the same Plan
objects, sold as from their region): the agent sees when "Europe 10 GB" is cheaper than "France 10 GB".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from esim_tui.domain.destinations import Destination, DestinationKind, Region, countries_in, known_countries
from esim_tui.domain.money import Money, format_money
from esim_tui.domain.plans import Plan, ProviderName
from esim_tui.services.catalogue_index import CatalogueIndex, DestinationLine, fold, load_fuzzy_matcher


@dataclass(frozen=True, slots=True)
class DestinationOffer:
    """One line of the catalogue: a destination, how many plans, from what price, from whom.

    ``plans`` are all that work there: a country's own and the regional and global plans covering it.
    """

    destination: Destination
    plans: tuple[Plan, ...]
    lowest_price: Money | None
    providers: tuple[ProviderName, ...]
    own_count: int | None = None  # how many of ``plans`` are its own, when the builder knows

    @property
    def plan_count(self) -> int:
        return len(self.plans)

    def is_wider(self, plan: Plan) -> bool:
        """A regional or global plan offered here because it covers this destination."""
        return plan.destination.key != self.destination.key

    @property
    def own_plan_count(self) -> int:
        return self.own_count if self.own_count is not None else sum(1 for p in self.plans if not self.is_wider(p))


_KIND_ORDER = {DestinationKind.COUNTRY: 0, DestinationKind.REGION: 1, DestinationKind.GLOBAL: 2}


@dataclass
class Catalogue:
    offers: tuple[DestinationOffer, ...] = ()
    index: CatalogueIndex = field(default_factory=lambda: CatalogueIndex(()), repr=False)
    _by_key: dict[str, DestinationOffer] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, plans: Iterable[Plan]) -> Catalogue:
        grouped: dict[str, list[Plan]] = {}
        places: dict[str, Destination] = {}
        own: dict[str, int] = {}
        countries = {d.code: (d.key, d) for d in known_countries()}
        # In price order once: every destination's list, a regional plan added to each country it
        # covers, comes out sorted without a sort of its own.
        for plan in sorted(plans, key=lambda p: (p.price.amount, p.validity_days, p.data_mb or 10**9)):
            key = plan.destination.key
            grouped.setdefault(key, []).append(plan)
            places.setdefault(key, plan.destination)
            own[key] = own.get(key, 0) + 1
            if plan.destination.kind is not DestinationKind.COUNTRY:
                for code in covered(plan) if not plan.coverage else dict.fromkeys(plan.coverage):
                    if code in countries:
                        here, place = countries[code]
                        listed = grouped.get(here)
                        if listed is None:
                            grouped[here] = listed = []
                            places[here] = place
                        listed.append(plan)
        load_fuzzy_matcher()  # here in the boot thread, not at the agent's first typo
        offers = [
            DestinationOffer(
                destination=places[key],
                plans=tuple(group),
                lowest_price=_lowest(group),  # the first: they are in price order
                providers=tuple(sorted({p.provider for p in group}, key=lambda p: p.value)),
                own_count=own.get(key, 0),
            )
            for key, group in grouped.items()
        ]
        offers.sort(key=lambda o: (_KIND_ORDER[o.destination.kind], o.destination.name))
        return cls(tuple(offers), CatalogueIndex(destination_line(o) for o in offers), {o.destination.key: o for o in offers})

    @property
    def plan_count(self) -> int:
        return self.index.plan_count  # each line counts its offer's plans

    def offer(self, destination_key: str) -> DestinationOffer | None:
        return self._by_key.get(destination_key)

    def search(self, text: str) -> list[DestinationOffer]:
        """The destinations' offers matching what the agent typed, best first (CatalogueIndex.search)."""
        return [self._by_key[line.key] for line in self.index.search(text)]


@cache
def _everywhere() -> tuple[str, ...]:
    return tuple(d.code for d in known_countries())


@cache
def _in_region(region: Region) -> tuple[str, ...]:
    return tuple(d.code for d in countries_in(region, known=True))


def covered(plan: Plan) -> tuple[str, ...]:
    """The countries (ISO alpha-2) a regional or global plan works in: as the provider states them;
    when it does not, every country of its region, or of the world for a global plan."""
    if plan.coverage:
        return plan.coverage
    if plan.destination.kind is DestinationKind.GLOBAL:
        return _everywhere()
    if plan.destination.region is not None:
        return _in_region(plan.destination.region)
    return ()


def destination_line(offer: DestinationOffer) -> DestinationLine:
    """The catalogue line of an offer: what the agent sees and what a search matches."""
    d = offer.destination
    codes = [d.code.casefold()]
    if d.alpha3:
        codes.append(d.alpha3.casefold())
    if d.kind is DestinationKind.REGION and d.region is not None:
        codes.append(d.region.code.casefold())
    names = list(d.aliases)
    if d.kind is DestinationKind.GLOBAL:
        names += ["global", "world", "worldwide"]
    aliases = tuple(dict.fromkeys(a for a in map(fold, names) if a != fold(d.name)))
    price = offer.lowest_price
    return DestinationLine(
        key=d.key,
        code=d.code,
        name=d.name,
        code_label=f"{d.code} {d.alpha3}" if d.alpha3 else (d.region.code if d.region else "GLO"),
        plan_count=offer.plan_count,
        own_plan_count=offer.own_plan_count,
        price_label=format_money(price) if price else "—",
        providers_label=", ".join(p.display for p in offer.providers),
        codes=tuple(dict.fromkeys(codes)),
        region=d.region.value.casefold() if d.region else "",
        aliases=aliases,
    )


def _lowest(plans: Sequence[Plan]) -> Money | None:
    # In price order already; providers here price in USD (a mixed list compares amounts alone).
    return plans[0].price if plans else None
