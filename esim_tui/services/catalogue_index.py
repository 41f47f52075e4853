"""The destination list the counter searches, apart from the plans behind it.

Standard library only: at start the app paints this list from the copy saved at the last load
(``catalogue_cache``) before pydantic, httpx and the providers are even imported; the full catalogue
with its plans replaces it a moment later. Typo-tolerant matching uses rapidfuzz, imported at the
first search of 3 letters or more, or ahead of that by ``load_fuzzy_matcher`` (the full catalogue's
build, off the first paint).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FUZZY_MIN_LETTERS = 3  # shorter, a typo-tolerant match finds half the world
FUZZY_CUTOFF = 75.0  # rapidfuzz ratio (0-100): "jpan"/"japan" 89, "itlay"/"italy" 80
_PUNCTUATION = str.maketrans({"'": "", "’": "", "`": "", ".": "", "-": " ", ",": " ", "(": " ", ")": " ", "&": " ", "/": " "})


def fold(text: str) -> str:
    """What a search compares: casefolded, accents and apostrophes dropped ("Côte d’Ivoire" -> "cote divoire")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.translate(_PUNCTUATION).split())


def load_fuzzy_matcher() -> None:
    """Import rapidfuzz now (about 40 ms), so the first typo the agent makes does not pay for it."""
    import rapidfuzz.fuzz
    import rapidfuzz.process  # noqa: F401


@dataclass(frozen=True, slots=True)
class DestinationLine:
    """One line of the catalogue as the agent sees it and searches it."""

    key: str  # the destination's key (Destination.key)
    code: str  # ISO alpha-2, region code or "GLOBAL"
    name: str
    code_label: str  # "JP JPN", "EUR", "GLO"
    plan_count: int  # every plan that works there: its own and the regional and global ones covering it
    own_plan_count: int  # its own (a regional plan counts once, on its region's line)
    price_label: str  # the lowest price of them all, "4.50 USD", or "—"
    providers_label: str  # "Octopus Cards, eSIM Go"
    # What a search matches, folded (``fold``):
    codes: tuple[str, ...]  # alpha-2, alpha-3, region code
    region: str  # the region's name, "" for none
    aliases: tuple[str, ...]  # other names: official, common, former, everyday ("uk", "holland")

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
        counts_ok = all(isinstance(getattr(line, f), int) for f in ("plan_count", "own_plan_count"))
        if not counts_ok or not all(isinstance(getattr(line, f), str) for f in _TEXT):
            raise ValueError("a saved destination line has a field of the wrong type")
        return line


_TEXT = ("key", "code", "name", "code_label", "price_label", "providers_label", "region")


@dataclass(frozen=True, slots=True)
class _Entry:
    line: DestinationLine
    names: tuple[str, ...]  # folded: its name first, then its aliases
    words: tuple[str, ...]  # every word of those names
    codes: frozenset[str]
    text: str  # the names joined: one ``in`` rules most destinations out


@dataclass(slots=True)
class _Fuzzy:
    """The names a typo-tolerant search compares with, and the entry each belongs to."""

    choices: list[str]
    owners: list[int]
    lesser: list[bool]  # a word of a name: a whole name as close wins ("koria": Korea before North Korea)
    prefixes: dict[int, list[str]] = field(default_factory=dict)  # by length: each choice cut to it

    def cut(self, length: int) -> list[str]:
        if length not in self.prefixes:
            self.prefixes[length] = [c[:length] for c in self.choices]
        return self.prefixes[length]


class CatalogueIndex:
    """The destinations in display order (countries, regions, then global) and their search."""

    def __init__(self, lines: Iterable[DestinationLine]) -> None:
        self.lines: tuple[DestinationLine, ...] = tuple(lines)
        self._entries = tuple(_entry(line) for line in self.lines)
        self._by_key = {line.key: line for line in self.lines}
        self._fuzzy: _Fuzzy | None = None

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def plan_count(self) -> int:
        """Every plan on sale, each once (a regional plan offered in 40 countries counts once)."""
        return sum(line.own_plan_count for line in self.lines)

    def line(self, key: str) -> DestinationLine | None:
        return self._by_key.get(key)

    def search(self, text: str) -> list[DestinationLine]:
        """Destinations matching what the agent typed, best first.

        Case, accents and apostrophes do not matter ("cote d'ivoire"). An exact ISO code ("JP", "JPN")
        comes first, then an exact name or alias ("uk", "holland"), then names starting with the text
        (the name shown before an alias), then names with a word starting with it ("korea" -> North
        Korea), then names containing it, then every destination of a region whose name matches
        ("europe"). Last, from 3 letters on,
        names close to the text ("jpan", "itlay"), closest first: a typo never outranks a real match.
        """
        query = fold(text)
        if not query:
            return list(self.lines)
        ranked: list[tuple[float, int, DestinationLine]] = []
        for i, e in enumerate(self._entries):
            rank = _rank(e, query)
            if rank is not None:
                ranked.append((rank, i, e.line))
        if len(query.replace(" ", "")) >= FUZZY_MIN_LETTERS:
            found = {i for _r, i, _l in ranked}
            ranked += [(_FUZZY_RANK - score / 1000, i, self.lines[i]) for i, score in self._close(query).items() if i not in found]
        ranked.sort(key=lambda t: (t[0], t[1]))
        return [line for _rank_, _i, line in ranked]

    def _close(self, query: str) -> dict[int, float]:
        """Entries with a name close to ``query`` (whole, or the start of it as far as typed): best score each."""
        from rapidfuzz import fuzz, process

        if self._fuzzy is None:
            choices, owners, lesser = [], [], []
            for i, e in enumerate(self._entries):
                words = [w for w in e.words if len(w) >= FUZZY_MIN_LETTERS and w not in e.names]
                for name, is_word in (*((n, False) for n in e.names), *((w, True) for w in words)):
                    choices.append(name)
                    owners.append(i)
                    lesser.append(is_word)
            self._fuzzy = _Fuzzy(choices, owners, lesser)
        fz = self._fuzzy
        best: dict[int, float] = {}
        # A whole name as close beats the start of one ("koria": Korea before "Korea, Democratic...")
        for choices, penalty in ((fz.choices, 0), (fz.cut(len(query)), 1)):
            for _choice, score, k in process.extract(query, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None):
                owner = fz.owners[k]
                best[owner] = max(score - penalty - fz.lesser[k], best.get(owner, 0.0))
        return best


_FUZZY_RANK = 7


def _entry(line: DestinationLine) -> _Entry:
    names = tuple(dict.fromkeys((fold(line.name), *line.aliases)))
    words = tuple(dict.fromkeys(w for n in names for w in n.split()))
    return _Entry(line, names, words, frozenset(line.codes), "\n".join(names))


def _rank(e: _Entry, q: str) -> int | None:
    if q in e.codes:
        return 0
    if q in e.text:  # it is in some name: say how well
        if q in e.names:
            return 1
        if e.names[0].startswith(q):  # the name shown before another's alias ("united": not Mexico first)
            return 2
        if any(n.startswith(q) for n in e.names):
            return 3
        if any(w.startswith(q) for w in e.words):
            return 4
        return 5
    if len(q) >= 3 and e.line.region.startswith(q):
        return 6
    return None
