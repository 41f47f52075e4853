"""The durable order store: every sale the shop has made, on TinyDB files that survive a crash.

Files, all beside the order file given to ``OrderStore.open`` (say ``orders.json``):

``orders.json``
    the ACTIVE file: orders still in play (see ``policy.is_settled``). It is rewritten on every save,
    so it is kept small; saving costs the same after ten years of sales as on the first day.
``orders-archive-000001.json``, ``-000002`` ...
    ARCHIVE segments of at most ``segment_capacity`` settled orders each, filled in turn. Moving an
    order there, or (rarely) updating an archived one, rewrites one segment: bounded cost too.
``orders-archive-000001.index.json`` ...
    a cache of each segment's lookup keys, so opening does not parse every archived order; written
    at close for the segments the session changed (and at open for any found out of date).
``orders-archive-000001.summary.json`` ...
    a cache of a few columns per archived order for a reader that lists them all (the support desk's
    order list, see ``summaries``), so listing does not parse every archived order either; written
    when ``summaries`` finds one out of date, and at close for the segments the session changed.
    Never holds an activation code.
``orders.json.bak``, ``orders-archive-000001.json.bak`` ...
    the last good copy of each file: the active one is refreshed at every open and close; a segment's
    whenever it is read in full at open (that is, after it changed).
``orders.json.lock``
    held (``filelock``, non-blocking) by the one esim-tui that may write; a second one is refused.

Every file is written atomically (``storage.atomic_write``) and is mode 0600; a folder the store
creates is 0700. TinyDB keys each document by the order's id and the store adds one field, ``_rev``:
a revision stamp that grows with every write. Moving an order writes its new file first and then
removes the old copy, so a crash in between leaves two copies, and the higher ``_rev`` is the truth.

Lookups go through an in-memory index (id, client reference, ICCID, provider order id -> file) built
at open; only the file that holds the order is read. All calls are serialised by one lock, so Textual
thread workers can share a store.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import compress
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import filelock
from pydantic import ValidationError
from tinydb import TinyDB
from tinydb.table import Document, Table

from esim_tui.domain.orders import Order
from esim_tui.store.errors import (
    ActivationCodeKept,
    StoreCorrupt,
    StoreError,
    StoreInUse,
    StoreReadOnly,
    StoreWriteFailed,
)
from esim_tui.store.index import Index, Keys, fingerprint, keys_of, read_index, revision, write_index
from esim_tui.store.policy import is_settled
from esim_tui.store.summaries import UNREADABLE, Summary, read_summary, write_summary
from esim_tui.store.storage import (
    FILE_MODE,
    AtomicJSONStorage,
    atomic_write,
    backup_path,
    ensure_private_file,
    ensure_private_folder,
    existing_backup,
    remove_stale_temporaries,
)

__all__ = [
    "SEGMENT_CAPACITY",
    "ActivationCodeKept",
    "OrderStore",
    "StoreCorrupt",
    "StoreError",
    "StoreInUse",
    "StoreReadOnly",
    "StoreWriteFailed",
]

log = logging.getLogger(__name__)

TABLE = "orders"
ACTIVE = 0  # location of the active file; archive segments are numbered from 1
SEGMENT_CAPACITY = 500  # ~0.7 MB of JSON: a move into the archive stays well under 20 ms
_OPEN_SEGMENTS = 4  # parsed segments kept in memory
_READ_ONLY_ATTEMPTS = 5

T = TypeVar("T")
_LOCATION, _REV = itemgetter(0), itemgetter(1)  # of an index entry


class _OrderTable(Table):
    """The orders of one file, keyed by the order's own id. TinyDB types document ids as int; this
    store keys them by str, so the typed calls below are the one place that says so."""

    document_id_class = str  # type: ignore[assignment]

    def has(self, oid: str) -> bool:
        return self.contains(doc_id=oid)  # type: ignore[arg-type]

    def doc(self, oid: str) -> Document | None:
        found: Document | None = self.get(doc_id=oid)  # type: ignore[call-overload]
        return found

    def replace(self, oid: str, doc: dict[str, Any]) -> None:
        self.update(_replace_with(doc), doc_ids=[oid])  # type: ignore[arg-type,list-item]

    def drop(self, oids: list[str]) -> None:
        self.remove(doc_ids=oids)  # type: ignore[arg-type]


def _oid(doc: Document) -> str:
    return doc.doc_id  # type: ignore[return-value]  # str: see _OrderTable


def _filed(doc: dict[str, Any], oid: str) -> Document:
    return Document(doc, doc_id=oid)  # type: ignore[arg-type]  # str: see _OrderTable


class _OrderDB(TinyDB):
    table_class = _OrderTable


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Layout:
    """The names of a store's files."""

    def __init__(self, path: Path) -> None:
        self.active = path
        self.folder = path.parent
        self.lock = path.with_name(path.name + ".lock")
        self._stem, self._suffix = path.stem, path.suffix
        self._segment = re.compile(rf"{re.escape(self._stem)}-archive-(\d{{6}}){re.escape(self._suffix)}")
        self._cache = re.compile(rf"{re.escape(self._stem)}-archive-\d{{6}}\.(index|summary)\.json")

    def segment(self, n: int) -> Path:
        return self.folder / f"{self._stem}-archive-{n:06d}{self._suffix}"

    def index(self, n: int) -> Path:
        return self.folder / f"{self._stem}-archive-{n:06d}.index.json"

    def summary(self, n: int) -> Path:
        return self.folder / f"{self._stem}-archive-{n:06d}.summary.json"

    def names(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except FileNotFoundError:
            return []

    def segments(self, names: list[str]) -> list[int]:
        return sorted(int(m.group(1)) for name in names if (m := self._segment.fullmatch(name)))

    def missing_segments(self, names: list[str]) -> list[int]:
        """Segments whose backup is there but the segment itself is not: an archive was deleted."""
        present = set(names)
        out = []
        for name in names:
            if name.endswith(".bak") and (m := self._segment.fullmatch(name[:-4])) and name[:-4] not in present:
                out.append(int(m.group(1)))
        return sorted(out)

    def owns(self, name: str) -> bool:
        """True for the names of this store's files (used to pick our stale temporary files)."""
        base = name[:-4] if name.endswith(".bak") else name
        return (
            base == self.active.name
            or self._segment.fullmatch(base) is not None
            or self._cache.fullmatch(name) is not None
        )

    def snapshot(self) -> list[tuple[str, list[int]]]:
        """Fingerprints of the data files: unchanged before and after a read means a consistent read."""
        out = []
        for name in sorted(n for n in self.names() if n == self.active.name or self._segment.fullmatch(n)):
            try:
                out.append((name, fingerprint(os.stat(self.folder / name))))
            except FileNotFoundError:
                out.append((name, []))
        return out


class OrderStore:
    """The shop's order records. Open with ``OrderStore.open(path)``; use as a context manager."""

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool,
        clock: Callable[[], datetime],
        segment_capacity: int,
    ) -> None:
        """Use ``OrderStore.open``; this only sets up an empty, unopened object."""
        if segment_capacity < 1:
            raise ValueError("segment_capacity must be at least 1")
        self.path = path
        self.read_only = read_only
        self._layout = _Layout(path)
        self._clock = clock
        self._capacity = segment_capacity
        self._lock = threading.RLock()
        self._file_lock: filelock.BaseFileLock | None = None
        self._closed = False
        self._active: _OrderDB | None = None
        self._segments: OrderedDict[int, _OrderDB] = OrderedDict()
        self._index = Index()
        self._written: set[int] = set()  # segments written since open: index files to refresh at close
        self._summaries: dict[str, Summary[Any]] = {}  # the kinds read since open: refreshed at close too

    # ------------------------------------------------------------ opening and closing

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] | None = None,
        segment_capacity: int = SEGMENT_CAPACITY,
    ) -> OrderStore:
        """Open the store whose active file is ``path`` (created, with its folder, if missing).

        Read-write (the app): takes the single-instance lock or raises StoreInUse, removes temporary
        files left by a crash, builds the index, archives orders that have settled, and refreshes the
        backup copy. Read-only (``esim-tui orders ...``): no lock, never writes, works while the app
        runs; it shows the files as they were at open (reopen to see later changes).

        Raises StoreCorrupt if any file cannot be read: the store never starts empty by mistake.
        ``clock`` (UTC now) and ``segment_capacity`` are for tests and benchmarks.
        """
        store = cls(
            Path(path).absolute(),
            read_only=read_only,
            clock=clock or _utcnow,
            segment_capacity=segment_capacity,
        )
        try:
            if read_only:
                store._load_consistent()
            else:
                store._open_for_writing()
        except BaseException:
            store._release()
            raise
        return store

    def close(self) -> None:
        """Release the lock and forget everything. Idempotent.

        Read-write: first refreshes the backup copy of the active file, and the index files and backups
        of the segments written since open (best effort; a failure only makes the next open slower).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.read_only and self._active is not None:
                    self._refresh_backup(self._layout.active)
                    for n in sorted(self._written):
                        self._refresh_segment(n)
            finally:
                self._release()

    def __enter__(self) -> OrderStore:
        """``with OrderStore.open(path) as store:`` closes the store at the end of the block."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        state = "closed" if self._closed else f"{len(self._index)} orders"
        return f"<OrderStore {self.path} {mode}, {state}>"

    # ------------------------------------------------------------ the API

    def save(self, order: Order) -> None:
        """Insert ``order``, or replace the stored order with the same id. Durable when it returns.

        The order goes to the active file while in play and to the archive once settled (and back if
        it stops being settled). Raises StoreWriteFailed when the disk refuses (full, I/O error): the
        files are then undamaged, and the in-memory view matches what is on disk.

        Raises ActivationCodeKept, writing nothing, when the stored order has an activation code and
        ``order`` has none or another one: a stale copy must never erase the only copy of a code.
        """
        if not isinstance(order, Order):
            raise TypeError(f"save() takes an Order, not {type(order).__name__}")
        if not order.id:
            raise ValueError("an order needs an id to be saved")
        with self._lock:
            self._check_writable()
            doc = order.model_dump(mode="json")
            old = self._index.where(order.id)
            if old is not None:
                self._keep_code(order)
            if not is_settled(order, self._clock()):
                target = ACTIVE
            elif old is not None and old != ACTIVE:
                target = old  # an archived order is updated where it is
            else:
                target = self._segment_with_room()
            doc["_rev"] = self._take_rev()
            self._put(target, order.id, doc)
            self._index.set(order.id, target, doc)
            if old is not None and old != target:
                self._index.stale.add((old, order.id))  # the old copy goes once the new one is safe
            self._remove_stale()

    def _keep_code(self, order: Order) -> None:
        # The code on file may be the only copy left (the provider withholds it once installed).
        stored = self._read_doc(order.id)
        code = stored.get("activation_code") if stored is not None else None
        if code and order.activation_code != code:
            where = self._index.where(order.id)
            assert where is not None  # it was just read from there
            raise ActivationCodeKept(self._path_of(where), order.id, replaced=bool(order.activation_code))

    def get(self, order_id: str) -> Order | None:
        """The order with this id, active or archived; None if there is none."""
        with self._lock:
            self._check_open()
            return self._fetch(order_id)

    def by_client_reference(self, ref: str) -> Order | None:
        """The order placed under this client reference (the newest, should there be several)."""
        with self._lock:
            self._check_open()
            ids = self._index.lookup("ref", ref)
            return self._fetch(ids[0]) if ids else None

    def by_iccid(self, iccid: str) -> list[Order]:
        """Every order for this eSIM (a first sale and its top-ups), newest first."""
        with self._lock:
            self._check_open()
            orders = (self._fetch(oid) for oid in self._index.lookup("iccid", iccid))
            return [o for o in orders if o is not None]

    def by_provider_order_id(self, provider_order_id: str) -> Order | None:
        """The order the provider knows under this id (the newest, should there be several)."""
        with self._lock:
            self._check_open()
            ids = self._index.lookup("poid", provider_order_id)
            return self._fetch(ids[0]) if ids else None

    def in_play(self) -> list[Order]:
        """The orders not settled yet (the active file), newest first."""
        with self._lock:
            self._check_open()
            docs = {_oid(d): d for d in self._table(ACTIVE).all() if self._index.where(_oid(d)) == ACTIVE}
            return [self._to_order(docs[oid], ACTIVE) for oid in self._index.newest_first(docs)]

    def all(self) -> Iterator[Order]:
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
                            if position.get(_oid(other), -1) > n and self._index.where(_oid(other)) == where:
                                pending[_oid(other)] = other
                    doc = self._read_doc(oid)
                where = self._index.where(oid)
                order = self._to_order(doc, where) if doc is not None and where is not None else None
            if order is not None:
                yield order

    def summaries(self, summary: Summary[T]) -> list[T]:
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

    def _summary_of(self, where: int, summary: Summary[T]) -> tuple[list[str], list[T]]:
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

    def _read_summary(self, where: int, fp: list[int], summary: Summary[T]) -> tuple[list[str], list[T]] | None:
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
        self, where: int, docs: dict[str, dict[str, Any]], summary: Summary[Any]
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
            orders.append(self._to_order(_filed(doc, oid), where))
        return ids, revs, summary.make(orders)

    def _write_summary(
        self, n: int, fp: list[int], summary: Summary[Any], ids: list[str], revs: list[int], columns: dict[str, Any]
    ) -> None:
        try:
            write_summary(self._layout.summary(n), fp, summary.tag, ids, revs, columns)
        except (OSError, ValueError) as err:
            # Only a cache: the next listing reads the segment instead.
            log.warning("could not write the summary of %s: %s", self._layout.segment(n), err)

    def count(self) -> int:
        """How many orders the store holds, active and archived."""
        with self._lock:
            self._check_open()
            return len(self._index)

    def archive_settled(self) -> int:
        """Move every settled order from the active file to the archive; returns how many moved.

        Done at every open. A long-running app may call it now and then (say daily), since orders
        settle by age too. Raises StoreWriteFailed like ``save``.
        """
        with self._lock:
            self._check_writable()
            now = self._clock()
            movers = [
                d
                for d in self._table(ACTIVE).all()
                if self._index.where(_oid(d)) == ACTIVE and is_settled(self._to_order(d, ACTIVE), now)
            ]
            batch = movers
            while batch:
                seg = self._segment_with_room()
                room = self._capacity - self._index.count[seg]
                self._move_to(seg, batch[:room])
                batch = batch[room:]
            self._remove_stale()  # one rewrite of the active file for the whole batch
            return len(movers)

    # ------------------------------------------------------------ opening, in detail

    def _open_for_writing(self) -> None:
        lay = self._layout
        lock = filelock.FileLock(lay.lock, timeout=0, mode=FILE_MODE, thread_local=False, blocking=False)
        try:
            ensure_private_folder(lay.folder)
            lock.acquire()
        except filelock.Timeout:
            raise StoreInUse(lay.active) from None
        except OSError as err:
            raise StoreError(
                f"esim-tui cannot use the folder {lay.folder} for its order file: {err.strerror or err}.",
                "Check the order file's path in the configuration, and that this user may write there.",
            ) from err
        self._file_lock = lock
        ensure_private_file(lay.lock)
        # Safe only now: with the lock held, no other writer can be halfway through a write.
        remove_stale_temporaries(lay.folder, lay.owns)
        self._load()
        assert self._active is not None
        if self._active.storage.read() is None:
            self._active.storage.write({TABLE: {}})  # a new store: create the file, 0600
        ensure_private_file(lay.active)
        self._remove_stale()
        try:
            self.archive_settled()
        except StoreWriteFailed as err:
            # Not a reason to refuse to start: every order is still on file; saves will report the disk.
            log.warning("could not archive settled orders at open: %s", err)
        self._refresh_backup(lay.active)

    def _load_consistent(self) -> None:
        # A read-only reader runs alongside the writer: retry until no file changed during the read.
        for _ in range(_READ_ONLY_ATTEMPTS):
            before = self._layout.snapshot()
            self._load()
            if self._layout.snapshot() == before:
                return
        log.warning("the order files kept changing while being read; showing the last read")

    def _load(self) -> None:
        lay = self._layout
        self._index = Index()
        self._segments.clear()
        self._active = self._make_db(lay.active)
        data = self._active.storage.read()
        names = lay.names()
        for n in lay.missing_segments(names):
            seg = lay.segment(n)
            raise StoreCorrupt(seg, "it is missing, although its backup copy is there", backup_path(seg))
        segments = lay.segments(names)
        if data is None and (segments or existing_backup(lay.active)):
            why = "it is missing or empty, although earlier orders exist beside it"
            raise StoreCorrupt(lay.active, why, existing_backup(lay.active))
        parts: list[tuple[int, Keys]] = [(ACTIVE, keys_of((data or {}).get(TABLE, {})))]
        parts.extend((n, self._segment_keys(n)) for n in segments)
        self._index.build(parts)

    def _segment_keys(self, n: int) -> Keys:
        lay = self._layout
        seg = lay.segment(n)
        try:
            st = os.stat(seg)
        except FileNotFoundError:
            return keys_of({})  # removed since the listing (read-only, racing the writer): retried
        except OSError as err:
            raise StoreCorrupt(seg, f"it cannot be opened: {err.strerror or err}", existing_backup(seg)) from err
        if not self.read_only:
            ensure_private_file(seg, st.st_mode)
        fp = fingerprint(st)
        keys = read_index(lay.index(n), fp)
        if keys is not None:
            return keys
        data = self._db(n).storage.read()  # parsed in full, so now known good
        keys = keys_of((data or {}).get(TABLE, {}))
        if not self.read_only:
            self._write_index(n, fp, keys)
            self._refresh_backup(seg)
        return keys

    def _refresh_segment(self, n: int) -> None:
        """At close: index file, backup and summaries for a segment this session wrote, so the next open
        (and the next listing) is quick."""
        seg = self._layout.segment(n)
        try:
            fp = fingerprint(os.stat(seg))
            data = self._db(n).storage.read()  # what this store last wrote (cached) or the file itself
        except (OSError, StoreError) as err:
            log.warning("could not index %s: %s", seg, err)  # the next open reads it in full instead
            return
        docs = (data or {}).get(TABLE) or {}
        self._write_index(n, fp, keys_of(docs))
        self._refresh_backup(seg)
        for summary in self._summaries.values():
            try:
                ids, revs, columns = self._summarise(n, docs, summary)
            except StoreError as err:
                log.warning("could not summarise %s: %s", seg, err)
                continue
            self._write_summary(n, fp, summary, ids, revs, columns)

    def _write_index(self, n: int, fp: list[int], keys: Keys) -> None:
        try:
            write_index(self._layout.index(n), fp, keys)
        except OSError as err:
            log.warning("could not write the index of %s: %s", self._layout.segment(n), err)

    def _take_rev(self) -> int:
        # Taken before the write and never reused: a failed write may still have reached the disk.
        self._index.max_rev += 1
        return self._index.max_rev

    # ------------------------------------------------------------ files

    def _path_of(self, where: int) -> Path:
        return self._layout.active if where == ACTIVE else self._layout.segment(where)

    def _make_db(self, path: Path) -> _OrderDB:
        return _OrderDB(path, storage=AtomicJSONStorage, read_only=self.read_only)

    def _db(self, where: int) -> _OrderDB:
        if where == ACTIVE:
            assert self._active is not None
            return self._active
        db = self._segments.get(where)
        if db is None:
            db = self._segments[where] = self._make_db(self._layout.segment(where))
            while len(self._segments) > _OPEN_SEGMENTS:
                self._segments.popitem(last=False)
        else:
            self._segments.move_to_end(where)
        return db

    def _table(self, where: int) -> _OrderTable:
        table = self._db(where).table(TABLE, cache_size=0)
        assert isinstance(table, _OrderTable)
        return table

    def _segment_with_room(self) -> int:
        n = self._index.max_location or 1
        return n if self._index.count[n] < self._capacity else n + 1

    def _put(self, where: int, oid: str, doc: dict[str, Any]) -> None:
        table = self._table(where)
        self._note_write(where)
        try:
            if table.has(oid):
                table.replace(oid, doc)
            else:
                table.insert(_filed(doc, oid))
        except StoreWriteFailed:
            self._resync(where)
            raise

    def _move_to(self, seg: int, docs: list[Document]) -> None:
        table = self._table(seg)
        self._note_write(seg)
        moved = []
        for d in docs:
            new = dict(d)
            new["_rev"] = self._take_rev()
            moved.append((_oid(d), new))
        try:
            fresh = [_filed(new, oid) for oid, new in moved if not table.has(oid)]
            for oid, new in moved:
                if table.has(oid):  # an old superseded copy: rare, one write each
                    table.replace(oid, new)
            table.insert_multiple(fresh)
        except StoreWriteFailed:
            self._resync(seg)
            raise
        for oid, new in moved:
            self._index.set(oid, seg, new)
            self._index.stale.add((ACTIVE, oid))

    def _note_write(self, where: int) -> None:
        if where != ACTIVE:
            self._written.add(where)

    def _remove_stale(self) -> None:
        """Delete superseded copies (the old half of a move). Best effort: leftovers lose to ``_rev``."""
        stale = self._index.stale
        if not stale or self.read_only:
            return
        by_where: dict[int, list[str]] = {}
        for where, oid in sorted(stale):
            if self._index.where(oid) == where:
                stale.discard((where, oid))  # the order moved back: that copy is the live one
            else:
                by_where.setdefault(where, []).append(oid)
        for where, ids in by_where.items():
            self._note_write(where)
            try:
                self._table(where).drop(ids)
            except StoreError as err:
                log.warning("could not remove %d superseded copies from %s: %s", len(ids), self._path_of(where), err)
                self._resync(where)
            else:
                stale.difference_update((where, oid) for oid in ids)

    def _resync(self, where: int) -> None:
        """After a failed write, make the index match what the file really holds now."""
        storage = self._db(where).storage
        assert isinstance(storage, AtomicJSONStorage)
        storage.forget()
        try:
            data = storage.read()
        except StoreError as err:
            log.warning("could not re-read %s after a failed write: %s", self._path_of(where), err)
            return
        for oid, doc in ((data or {}).get(TABLE) or {}).items():
            rev, current = revision(doc), self._index.rev(oid)
            if current is None or rev > current:
                # The write reached the disk after all (only the final folder sync failed).
                old = self._index.where(oid)
                self._index.set(oid, where, doc)
                if old is not None and old != where:
                    self._index.stale.add((old, oid))
            elif self._index.where(oid) != where:
                self._index.stale.add((where, oid))

    def _refresh_backup(self, path: Path) -> None:
        """Copy ``path`` to ``path.bak``. Best effort: a failure is logged, not raised.

        Called only when ``path`` is known good: just parsed in full, or last written by this store.
        """
        try:
            raw = path.read_bytes()
            if raw:
                atomic_write(backup_path(path), raw)
        except OSError as err:
            log.warning("could not refresh the backup copy of %s: %s", path, err)

    def _release(self) -> None:
        self._active = None
        self._segments.clear()
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None

    # ------------------------------------------------------------ reading records

    def _fetch(self, oid: str) -> Order | None:
        doc = self._read_doc(oid)
        where = self._index.where(oid)
        return self._to_order(doc, where) if doc is not None and where is not None else None

    def _read_doc(self, oid: str) -> Document | None:
        for attempt in range(2):
            where = self._index.where(oid)
            if where is None:
                return None
            doc = self._table(where).doc(oid)
            if doc is not None and revision(doc) == self._index.rev(oid):
                return doc
            if not self.read_only:
                path = self._path_of(where)
                raise StoreCorrupt(path, f"order {oid} is not in it as the index expects", existing_backup(path))
            if attempt == 0:
                self._load_consistent()  # the app moved it since we opened: read the files again
        return None

    def _to_order(self, doc: dict[str, Any], where: int) -> Order:
        data = dict(doc)
        data.pop("_rev", None)
        path = self._path_of(where)
        try:
            order = Order.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "the record"
            # The message names the field, never its value (it may be an activation code).
            detail = f"order {data.get('id')!r} is not a valid order record ({field}: {first['msg']})"
            raise StoreCorrupt(path, detail, existing_backup(path)) from None
        if isinstance(doc, Document) and _oid(doc) != order.id:
            detail = f"the record filed as {_oid(doc)!r} is order {order.id!r}"
            raise StoreCorrupt(path, detail, existing_backup(path))
        return order

    # ------------------------------------------------------------ guards

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the order store {self.path} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise StoreReadOnly(self.path)


def _replace_with(doc: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def replace(stored: dict[str, Any]) -> None:
        stored.clear()
        stored.update(doc)

    return replace
