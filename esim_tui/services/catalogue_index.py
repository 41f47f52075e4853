"""The destination list the counter searches, apart from the plans behind it.

Standard library only: at start the app paints this list from the copy saved at the last load
(``catalogue_cache``) before pydantic, httpx and the providers are even imported; the full catalogue
with its plans replaces it a moment later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DestinationLine:
    """One line of the catalogue as the agent sees it and searches it."""

    key: str  # the destination's key (Destination.key)
    code: str  # ISO alpha-2, region code or "GLOBAL"
    name: str
    code_label: str  # "JP JPN", "EUR", "GLO"
    plan_count: int
    price_label: str  # the lowest price, "4.50 USD", or "—"
    providers_label: str  # "Octopus Cards, eSIM Go"
    # What a search matches, casefolded:
    codes: tuple[str, ...]  # alpha-2, alpha-3, region code
    region: str  # the region's name, "" for none
    aliases: tuple[str, ...]

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.name, self.code_label, str(self.plan_count), self.price_label, self.providers_label)

    def to_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> DestinationLine:
        values = {f: row[f] for f in cls.__slots__}
        for f in ("codes", "aliases"):
            values[f] = tuple(str(v) for v in values[f])
        line = cls(**values)
        if not isinstance(line.plan_count, int) or not all(isinstance(getattr(line, f), str) for f in _TEXT):
            raise ValueError("a saved destination line has a field of the wrong type")
        return line


_TEXT = ("key", "code", "name", "code_label", "price_label", "providers_label", "region")


@dataclass(frozen=True, slots=True)
class _Entry:
    line: DestinationLine
    name: str  # casefolded
    words: tuple[str, ...]
    codes: frozenset[str]


class CatalogueIndex:
    """The destinations in display order (countries, regions, then global) and their search."""

    def __init__(self, lines: Iterable[DestinationLine]) -> None:
        self.lines: tuple[DestinationLine, ...] = tuple(lines)
        self._entries = tuple(_entry(line) for line in self.lines)
        self._by_key = {line.key: line for line in self.lines}

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def plan_count(self) -> int:
        return sum(line.plan_count for line in self.lines)

    def line(self, key: str) -> DestinationLine | None:
        return self._by_key.get(key)

    def search(self, text: str) -> list[DestinationLine]:
        """Destinations matching what the agent typed, best first.

        An exact ISO code ("JP", "JPN") comes first, then names starting with the text, then names
        containing it, then every destination of a region whose name matches ("europe"), then
        "global"/"world" for worldwide plans.
        """
        query = " ".join(text.casefold().split())
        if not query:
            return list(self.lines)
        ranked: list[tuple[int, int, DestinationLine]] = []
        for i, e in enumerate(self._entries):
            rank = _rank(e, query)
            if rank is not None:
                ranked.append((rank, i, e.line))
        ranked.sort(key=lambda t: (t[0], t[1]))
        return [line for _rank_, _i, line in ranked]


def _entry(line: DestinationLine) -> _Entry:
    name = line.name.casefold()
    return _Entry(line, name, tuple(name.replace("-", " ").split()), frozenset(line.codes))


def _rank(e: _Entry, q: str) -> int | None:
    if q in e.codes:
        return 0
    if e.name == q or q in e.line.aliases:
        return 1
    if e.name.startswith(q) or any(w.startswith(q) for w in e.words):
        return 2
    if q in e.name or any(q in a for a in e.line.aliases):
        return 3
    if len(q) >= 3 and e.line.region.startswith(q):
        return 4
    return None
