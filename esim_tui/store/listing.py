"""Listing every order: in full, read lazily (``OrderStore.all``), or from the archive's summary files
(``OrderStore.summaries``: what the support desk's order list reads, so that listing 100,000 orders
does not parse every one of them)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from itertools import compress
from operator import itemgetter
from typing import Any, Protocol, TypeVar

from tinydb.table import Document

from esim_tui.domain.orders import Order
from esim_tui.store.errors import StoreCorrupt
from esim_tui.store.index import Index, fingerprint, revision
from esim_tui.store.layout import ACTIVE, Layout
from esim_tui.store.storage import existing_backup
from esim_tui.store.summaries import UNREADABLE, Summary, read_summary, write_summary
from esim_tui.store.tables import TABLE, OrderDB, OrderTable, filed, oid_of

log = logging.getLogger("esim_tui.store.orders")

T = TypeVar("T")
_LOCATION, _REV = itemgetter(0), itemgetter(1)  # of an index entry


class _Store(Protocol):
    """What the listing needs of the store it is mixed into (``OrderStore``)."""

    read_only: bool
    _lock: threading.RLock
    _index: Index
    _layout: Layout
    _summaries: dict[str, Summary[Any]]

    def _check_open(self) -> None: ...
    def _db(self, where: int) -> OrderDB: ...
    def _fetch(self, oid: str) -> Order | None: ...
    def _read_doc(self, oid: str) -> Document | None: ...
    def _table(self, where: int) -> OrderTable: ...
    def _to_order(self, doc: dict[str, Any], where: int) -> Order: ...
    def _summary_of(self, where: int, summary: Summary[T]) -> tuple[list[str], list[T]]: ...
    def _read_summary(self, where: int, fp: list[int], summary: Summary[T]) -> tuple[list[str], list[T]] | None: ...
    def _summarise(self, where: int, docs: dict[str, dict[str, Any]], summary: Summary[Any]) -> tuple[list[str], list[int], dict[str, Any]]: ...
    def _write_summary(self, n: int, fp: list[int], summary: Summary[Any], ids: list[str], revs: list[int], columns: dict[str, Any]) -> None: ...


class Listing:
    """Mixed into ``OrderStore``: every order, in full (``all``) or summarised (``summaries``, from the
    summary files)."""

    def all(self: _Store) -> Iterator[Order]:
        """Every order, active and archived, newest first, read lazily (each archive file read once).

        Orders saved while iterating are not included; orders changed meanwhile come as they are now.
        """
        with self._lock:
            self._check_open()
            ordered = self._index.newest_first(self._index.entries)
        position = {oid: n for n, oid in enumerate(ordered)}
        pending: dict[str, Document] = {}  # read with an earlier segment, due later in the order
        loaded: set[int] = set()
        for n, oid in enumerate(ordered):
            with self._lock:
                self._check_open()
                doc = pending.pop(oid, None)
                if doc is None or revision(doc) != self._index.rev(oid):
                    where = self._index.where(oid)
                    if where is not None and where != ACTIVE and where not in loaded:
                        loaded.add(where)
                        for other in self._table(where).all():
                            if position.get(oid_of(other), -1) > n and self._index.where(oid_of(other)) == where:
                                pending[oid_of(other)] = other
                    doc = self._read_doc(oid)
                where = self._index.where(oid)
                order = self._to_order(doc, where) if doc is not None and where is not None else None
            if order is not None:
                yield order

    def summaries(self: _Store, summary: Summary[T]) -> list[T]:
        """One ``summary`` item per order, active and archived, in no particular order.

        An archive segment's items come from its summary file when that is up to date, else from the
        segment itself (read-write, the summary file is then rewritten). The orders in play always come
        from the active file. Every order the store holds is in the answer: should no summary cover one
        (a read-only store racing the app), it is read on its own. Far faster than ``all()`` once the
        summary files exist; raises StoreCorrupt like ``all()`` for an invalid record it has to read.
        """
        with self._lock:
            self._check_open()
            self._summaries[summary.tag] = summary
            locations = sorted(where for where, n in self._index.count.items() if n > 0)
        items: list[T] = []
        seen: set[str] = set()
        for where in locations:
            # One location at a time: the app's other threads get the store in between.
            with self._lock:
                self._check_open()
                ids, got = self._summary_of(where, summary)
            items += got
            seen.update(ids)
        with self._lock:
            self._check_open()
            for oid in self._index.entries.keys() - seen:
                order = self._fetch(oid)
                if order is not None:
                    items += summary.read([oid], summary.make([order]))
        return items

    def _summary_of(self: _Store, where: int, summary: Summary[T]) -> tuple[list[str], list[T]]:
        """The ids and items of the live orders in ``where``: from its summary file if up to date."""
        fp = None
        if where != ACTIVE:
            seg = self._layout.segment(where)
            try:
                fp = fingerprint(os.stat(seg))
            except FileNotFoundError:
                return [], []  # removed since open (read-only, racing the writer): read order by order
            except OSError as err:
                raise StoreCorrupt(seg, f"it cannot be opened: {err.strerror or err}", existing_backup(seg)) from err
            found = self._read_summary(where, fp, summary)
            if found is not None:
                return found
        data = self._db(where).storage.read()
        ids, revs, columns = self._summarise(where, (data or {}).get(TABLE) or {}, summary)
        if fp is not None and not self.read_only:
            self._write_summary(where, fp, summary, ids, revs, columns)
        return ids, summary.read(ids, columns)

    def _read_summary(self: _Store, where: int, fp: list[int], summary: Summary[T]) -> tuple[list[str], list[T]] | None:
        cached = read_summary(self._layout.summary(where), fp, summary.tag)
        if cached is None:
            return None
        entries = self._index.entries
        # Live: the index files the order here, at this revision (not a superseded copy). Checked in C
        # first, as it nearly always holds; then order by order.
        try:
            found = list(map(entries.__getitem__, cached.ids))
        except KeyError:
            found = None
        if found is not None and list(map(_REV, found)) == cached.revs and set(map(_LOCATION, found)) <= {where}:
            live = [True] * len(found)
        else:
            live = [(e := entries.get(oid)) is not None and e[0] == where and e[1] == rev for oid, rev in zip(cached.ids, cached.revs)]
        if sum(live) != self._index.count[where]:
            return None  # it misses an order the index files here: read the segment
        try:
            items = summary.read(cached.ids, cached.columns)
        except UNREADABLE as err:
            log.info("the summary of %s is unreadable (%s); reading the segment", self._layout.segment(where), type(err).__name__)
            return None
        if len(items) != len(cached.ids):
            return None
        if all(live):
            return cached.ids, items
        return list(compress(cached.ids, live)), list(compress(items, live))

    def _summarise(
        self: _Store, where: int, docs: dict[str, dict[str, Any]], summary: Summary[Any]
    ) -> tuple[list[str], list[int], dict[str, Any]]:
        """The ids, revisions and summary columns of the live orders among ``docs`` (read from ``where``)."""
        entries = self._index.entries
        ids, revs, orders = [], [], []
        for oid, doc in docs.items():
            entry = entries.get(oid)
            if entry is None or entry[0] != where or entry[1] != revision(doc):
                continue  # a superseded copy, or changed since (read-only): ``summaries`` reads it alone
            ids.append(oid)
            revs.append(entry[1])
            orders.append(self._to_order(filed(doc, oid), where))
        return ids, revs, summary.make(orders)

    def _write_summary(self: _Store, n: int, fp: list[int], summary: Summary[Any], ids: list[str], revs: list[int], columns: dict[str, Any]
    ) -> None:
        try:
            write_summary(self._layout.summary(n), fp, summary.tag, ids, revs, columns)
        except (OSError, ValueError) as err:
            # Only a cache: the next listing reads the segment instead.
            log.warning("could not write the summary of %s: %s", self._layout.segment(n), err)
