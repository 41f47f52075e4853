"""The catalogue as the counter searches it: destinations with their plans from every provider.

Built once per catalogue load; a keystroke only filters the few hundred destinations, never the plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from esim_tui.domain.destinations import Destination, DestinationKind
from esim_tui.domain.money import Money, format_money
from esim_tui.domain.plans import Plan, ProviderName
from esim_tui.services.catalogue_index import CatalogueIndex, DestinationLine


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
        return cls(tuple(offers), CatalogueIndex(destination_line(o) for o in offers), {o.destination.key: o for o in offers})

    @property
    def plan_count(self) -> int:
        return self.index.plan_count  # each line counts its offer's plans

    def offer(self, destination_key: str) -> DestinationOffer | None:
        return self._by_key.get(destination_key)

    def search(self, text: str) -> list[DestinationOffer]:
        """The destinations' offers matching what the agent typed, best first (CatalogueIndex.search)."""
        return [self._by_key[line.key] for line in self.index.search(text)]


def destination_line(offer: DestinationOffer) -> DestinationLine:
    """The catalogue line of an offer: what the agent sees and what a search matches."""
    d = offer.destination
    codes = [d.code.casefold()]
    if d.alpha3:
        codes.append(d.alpha3.casefold())
    if d.kind is DestinationKind.REGION and d.region is not None:
        codes.append(d.region.code.casefold())
    aliases = tuple(a.casefold() for a in d.aliases)
    if d.kind is DestinationKind.GLOBAL:
        aliases += ("global", "world", "worldwide")
    price = offer.lowest_price
    return DestinationLine(
        key=d.key,
        code=d.code,
        name=d.name,
        code_label=f"{d.code} {d.alpha3}" if d.alpha3 else (d.region.code if d.region else "GLO"),
        plan_count=offer.plan_count,
        price_label=format_money(price) if price else "—",
        providers_label=", ".join(p.display for p in offer.providers),
        codes=tuple(dict.fromkeys(codes)),
        region=d.region.value.casefold() if d.region else "",
        aliases=aliases,
    )


def _lowest(plans: Sequence[Plan]) -> Money | None:
    # Compare within the first currency seen; providers here price in USD.
    if not plans:
        return None
    currency = plans[0].price.currency
    amounts = [p.price.amount for p in plans if p.price.currency == currency]
    return Money(amount=min(amounts, default=Decimal(0)), currency=currency)
