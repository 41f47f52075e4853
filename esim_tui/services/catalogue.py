"""The catalogue as the counter searches it: destinations with their plans from every provider.

Built once per catalogue load; a keystroke only filters the few hundred destinations, never the plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from esim_tui.domain.destinations import Destination, DestinationKind
from esim_tui.domain.money import Money
from esim_tui.domain.plans import Plan, ProviderName


@dataclass(frozen=True, slots=True)
class DestinationOffer:
    """One line of the catalogue: a destination, how many plans, from what price, from whom."""

    destination: Destination
    plans: tuple[Plan, ...]
    lowest_price: Money | None
    providers: tuple[ProviderName, ...]

    @property
    def plan_count(self) -> int:
        return len(self.plans)


@dataclass(frozen=True, slots=True)
class _Entry:
    offer: DestinationOffer
    name: str  # casefolded
    words: tuple[str, ...]
    codes: frozenset[str]  # alpha-2, alpha-3, region code (casefolded)
    region: str  # casefolded region name, "" for none
    aliases: tuple[str, ...]


_KIND_ORDER = {DestinationKind.COUNTRY: 0, DestinationKind.REGION: 1, DestinationKind.GLOBAL: 2}


@dataclass
class Catalogue:
    offers: tuple[DestinationOffer, ...] = ()
    _entries: tuple[_Entry, ...] = field(default=(), repr=False)
    _by_key: dict[str, DestinationOffer] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, plans: Iterable[Plan]) -> Catalogue:
        grouped: dict[str, list[Plan]] = {}
        places: dict[str, Destination] = {}
        for plan in plans:
            key = plan.destination.key
            grouped.setdefault(key, []).append(plan)
            places.setdefault(key, plan.destination)
        offers = []
        for key, group in grouped.items():
            group.sort(key=lambda p: (p.price.amount, p.validity_days, p.data_mb or 10**9))
            offers.append(
                DestinationOffer(
                    destination=places[key],
                    plans=tuple(group),
                    lowest_price=_lowest(group),
                    providers=tuple(sorted({p.provider for p in group}, key=lambda p: p.value)),
                )
            )
        offers.sort(key=lambda o: (_KIND_ORDER[o.destination.kind], o.destination.name))
        entries = tuple(_entry(o) for o in offers)
        return cls(tuple(offers), entries, {o.destination.key: o for o in offers})

    @property
    def plan_count(self) -> int:
        return sum(o.plan_count for o in self.offers)

    def offer(self, destination_key: str) -> DestinationOffer | None:
        return self._by_key.get(destination_key)

    def search(self, text: str) -> list[DestinationOffer]:
        """Destinations matching what the agent typed, best first.

        An exact ISO code ("JP", "JPN") comes first, then names starting with the text, then names
        containing it, then every destination of a region whose name matches ("europe"), then
        "global"/"world" for worldwide plans.
        """
        query = " ".join(text.casefold().split())
        if not query:
            return list(self.offers)
        ranked: list[tuple[int, int, DestinationOffer]] = []
        for i, e in enumerate(self._entries):
            rank = _rank(e, query)
            if rank is not None:
                ranked.append((rank, i, e.offer))
        ranked.sort(key=lambda t: (t[0], t[1]))
        return [offer for _rank_, _i, offer in ranked]


def _rank(e: _Entry, q: str) -> int | None:
    if q in e.codes:
        return 0
    if e.name == q or q in e.aliases:
        return 1
    if e.name.startswith(q) or any(w.startswith(q) for w in e.words):
        return 2
    if q in e.name or any(q in a for a in e.aliases):
        return 3
    if len(q) >= 3 and e.region.startswith(q):
        return 4
    return None


def _entry(offer: DestinationOffer) -> _Entry:
    d = offer.destination
    codes = {d.code.casefold()}
    if d.alpha3:
        codes.add(d.alpha3.casefold())
    if d.kind is DestinationKind.REGION and d.region is not None:
        codes.add(d.region.code.casefold())
    aliases = tuple(a.casefold() for a in d.aliases)
    if d.kind is DestinationKind.GLOBAL:
        aliases += ("global", "world", "worldwide")
    name = d.name.casefold()
    return _Entry(offer, name, tuple(name.replace("-", " ").split()), frozenset(codes), d.region.value.casefold() if d.region else "", aliases)


def _lowest(plans: Sequence[Plan]) -> Money | None:
    # Compare within the first currency seen; providers here price in USD.
    if not plans:
        return None
    currency = plans[0].price.currency
    amounts = [p.price.amount for p in plans if p.price.currency == currency]
    return Money(amount=min(amounts, default=Decimal(0)), currency=currency)
