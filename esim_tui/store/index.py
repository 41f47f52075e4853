"""The in-memory index of the order store, and the small index file cached beside each archive segment.

Opening the store must not parse every archived order (100,000 orders are ~150 MB of JSON). Each
segment ``orders-archive-000042.json`` gets an index file ``orders-archive-000042.index.json`` with just
the keys (id, client reference, ICCID, provider order id, creation time, revision), in columns so it
parses fast. The index file is only a cache: it records the segment's inode, size and mtime, and when
those no longer match (the segment was written after it, or a crash came in between) or it does not
parse, the segment itself is read again and the index rebuilt.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from esim_tui.store.storage import atomic_write

FORMAT = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(slots=True)
class Keys:
    """The lookup keys of the orders in one file, column by column (same length, same order)."""

    ids: list[str]
    refs: list[str | None]
    iccids: list[str | None]
    poids: list[str | None]
    created: list[int]  # created_at in microseconds since 1970 (UTC): sorts across time zones
    revs: list[int]  # the store's revision stamp of the copy (see OrderStore)

    def __len__(self) -> int:
        return len(self.ids)


def keys_of(docs: dict[str, dict[str, Any]]) -> Keys:
    """Extract the keys from a TinyDB table (document id -> document)."""
    values = list(docs.values())
    return Keys(
        ids=list(docs),
        refs=[_key(d.get("client_reference")) for d in values],
        iccids=[_key(d.get("iccid")) for d in values],
        poids=[_key(d.get("provider_order_id")) for d in values],
        created=[created_key(d.get("created_at")) for d in values],
        revs=[revision(d) for d in values],
    )


def _key(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def revision(doc: dict[str, Any]) -> int:
    rev = doc.get("_rev", 0)
    return rev if type(rev) is int else 0


def created_key(value: object) -> int:
    """An ISO 8601 time as microseconds since 1970; naive times count as UTC; unreadable -> 0."""
    if not isinstance(value, str):
        return 0
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND



def fingerprint(st: os.stat_result) -> list[int]:
    # A new inode on every atomic replace: a stale index cannot match even if size and mtime repeat.
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def read_index(path: Path, expected: list[int]) -> Keys | None:
    """The cached keys in ``path`` if they belong to a segment with fingerprint ``expected``, else None."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT or data.get("fingerprint") != expected:
            return None
        keys = Keys(
            ids=data["ids"],
            refs=data["refs"],
            iccids=data["iccids"],
            poids=data["poids"],
            created=data["created"],
            revs=data["revs"],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    n = len(keys.ids)
    columns = (keys.refs, keys.iccids, keys.poids, keys.created, keys.revs)
    if not all(isinstance(c, list) and len(c) == n for c in columns):
        return None
    # Type checks with map() run in C: a hand-edited or damaged index file is rebuilt, not trusted.
    optional = {str, type(None)}
    if not (
        set(map(type, keys.ids)) <= {str}
        and set(map(type, keys.refs)) <= optional
        and set(map(type, keys.iccids)) <= optional
        and set(map(type, keys.poids)) <= optional
        and set(map(type, keys.created)) <= {int}
        and set(map(type, keys.revs)) <= {int}
    ):
        return None
    return keys


def write_index(path: Path, fp: list[int], keys: Keys) -> None:
    """Write the index file for a segment with fingerprint ``fp``. Raises OSError."""
    data = {
        "format": FORMAT,
        "fingerprint": fp,
        "ids": keys.ids,
        "refs": keys.refs,
        "iccids": keys.iccids,
        "poids": keys.poids,
        "created": keys.created,
        "revs": keys.revs,
    }
    atomic_write(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


# ---------------------------------------------------------------- the in-memory index

# An entry: (location, revision, created, client reference, ICCID, provider order id). Location 0 is
# the active file, n the archive segment n. Plain tuples of str/int: the garbage collector can skip
# them, which matters with 100,000 orders.
Entry = tuple[int, int, int, str | None, str | None, str | None]
_KEY_COLUMNS: dict[str, Literal[3, 4, 5]] = {"ref": 3, "iccid": 4, "poid": 5}


class Index:
    """Which file holds each order, and the ids under each client reference, ICCID and provider order id."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        # key -> one id, or a tuple of ids when several orders share the key (top-ups on one ICCID)
        self._maps: dict[str, dict[str, str | tuple[str, ...]]] = {kind: {} for kind in _KEY_COLUMNS}
        self.count: Counter[int] = Counter()  # orders per location
        self.stale: set[tuple[int, str]] = set()  # (location, id) of superseded copies still on file
        self.max_rev = 0
        self.max_location = 0

    def build(self, parts: list[tuple[int, Keys]]) -> None:
        """Index the keys read from each location. Where an order is in two files, the higher revision wins."""
        total = sum(len(k) for _, k in parts)
        entries: dict[str, Entry] = {}
        for where, k in parts:
            entries.update(zip(k.ids, zip(repeat(where), k.revs, k.created, k.refs, k.iccids, k.poids)))
        if len(entries) == total:
            for where, k in parts:
                self.count[where] += len(k)
        else:
            # An interrupted move left an order in two files (see OrderStore.save).
            entries = {}
            for where, k in parts:
                for oid, *rest in zip(k.ids, repeat(where), k.revs, k.created, k.refs, k.iccids, k.poids):
                    old = entries.get(oid)
                    if old is not None and rest[1] <= old[1]:
                        self.stale.add((where, oid))
                        continue
                    if old is not None:
                        self.stale.add((old[0], oid))
                    entries[oid] = tuple(rest)
            self.count = Counter(e[0] for e in entries.values())
        self.entries = entries
        ids = list(entries)
        for kind, column in _KEY_COLUMNS.items():
            self._maps[kind] = _multimap(list(map(itemgetter(column), entries.values())), ids)
        self.max_rev = max((max(k.revs, default=0) for _, k in parts), default=0)
        self.max_location = max((where for where, _ in parts), default=0)

    def set(self, oid: str, where: int, doc: dict[str, Any]) -> None:
        """Record that ``doc`` (order ``oid``) is now the live copy, in location ``where``."""
        old = self.entries.get(oid)
        if old is not None:
            self.count[old[0]] -= 1
            for kind, column in _KEY_COLUMNS.items():
                _remove(self._maps[kind], old[column], oid)
        entry: Entry = (
            where,
            revision(doc),
            created_key(doc.get("created_at")),
            _key(doc.get("client_reference")),
            _key(doc.get("iccid")),
            _key(doc.get("provider_order_id")),
        )
        self.entries[oid] = entry
        self.count[where] += 1
        for kind, column in _KEY_COLUMNS.items():
            _add(self._maps[kind], entry[column], oid)
        self.max_rev = max(self.max_rev, entry[1])
        self.max_location = max(self.max_location, where)

    def where(self, oid: str) -> int | None:
        entry = self.entries.get(oid)
        return entry[0] if entry is not None else None

    def rev(self, oid: str) -> int | None:
        entry = self.entries.get(oid)
        return entry[1] if entry is not None else None

    def lookup(self, kind: str, key: str) -> list[str]:
        """The ids filed under ``key`` ("ref", "iccid" or "poid"), newest first."""
        found = self._maps[kind].get(key)
        if found is None:
            return []
        return self.newest_first((found,) if isinstance(found, str) else found)

    def newest_first(self, ids: Any) -> list[str]:
        entries = self.entries
        return sorted(ids, key=lambda i: (entries[i][2], i), reverse=True)

    def __len__(self) -> int:
        return len(self.entries)


def _multimap(keys: list[str | None], ids: list[str]) -> dict[str, str | tuple[str, ...]]:
    out: dict[Any, str | tuple[str, ...]] = dict(zip(keys, ids))  # built in C; the last id wins...
    out.pop(None, None)
    if len(out) != len(keys) - keys.count(None):
        # ...so where a key is shared, gather all its ids (rare: top-ups, repeated references).
        shared = {k for k, n in Counter(keys).items() if n > 1 and k is not None}
        groups: dict[str, list[str]] = {}
        for k, oid in zip(keys, ids):
            if k in shared:
                groups.setdefault(k, []).append(oid)
        out.update((k, tuple(g)) for k, g in groups.items())
    return out


def _add(index: dict[str, str | tuple[str, ...]], key: str | None, oid: str) -> None:
    if key is None:
        return
    found = index.get(key)
    if found is None:
        index[key] = oid
    elif isinstance(found, str):
        if found != oid:
            index[key] = (found, oid)
    elif oid not in found:
        index[key] = (*found, oid)


def _remove(index: dict[str, str | tuple[str, ...]], key: str | None, oid: str) -> None:
    if key is None:
        return
    found = index.get(key)
    if found == oid:
        del index[key]
    elif isinstance(found, tuple) and oid in found:
        rest = tuple(i for i in found if i != oid)
        index[key] = rest[0] if len(rest) == 1 else rest
