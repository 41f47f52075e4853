"""A TinyDB Storage that cannot leave a half-written file behind.

TinyDB's own ``JSONStorage`` rewrites the file in place (seek, write, fsync, truncate), so a process
killed mid-write leaves invalid JSON (reliability.md §1.2: 19 of 330 ``kill -9`` runs). Here every
write goes to a new temporary file in the same folder, which is fsynced and then renamed over the old
one (``os.replace`` is atomic on POSIX); the folder is then fsynced so the rename itself survives a
power loss. Readers therefore always see either the old or the new file, never a mix.

The temporary file comes from ``tempfile.mkstemp``, so it is created 0600 whatever the umask, and the
rename keeps that mode: the order file, which holds activation codes, is never readable by others.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from esim_tui.store.errors import StoreCorrupt, StoreReadOnly, StoreWriteFailed

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_TEMP_SUFFIX = ".tmp"


def backup_path(path: Path) -> Path:
    """Where the last good copy of ``path`` is kept: ``orders.json`` -> ``orders.json.bak``."""
    return path.with_name(path.name + ".bak")


def existing_backup(path: Path) -> Path | None:
    """The backup of ``path`` if one exists and is not empty (worth naming in an error)."""
    bak = backup_path(path)
    try:
        return bak if bak.stat().st_size > 0 else None
    except OSError:
        return None


# ---------------------------------------------------------------- writing


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload``: temp file, fsync, rename, fsync the folder.

    Raises OSError. On any failure before the rename, the temporary file is removed and ``path`` is
    untouched; if only the final folder fsync fails, ``path`` already holds the new content.
    """
    folder = path.parent
    # Named after its target (".orders.json.k3j2h1.tmp") so a later start can tell which are ours.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=folder)
    replaced = False
    try:
        try:
            # os.write on the raw descriptor: no user-space buffer, so nothing is left to flush
            # before the fsync.
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        replaced = True
        fsync_folder(folder)
    except BaseException:
        if not replaced:
            with suppress(OSError):
                os.unlink(tmp)
        raise


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a rename alone is atomic but not durable)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_folder(folder: Path) -> bool:
    """Create ``folder`` with mode 0700 if it is missing (parents with the default mode). True if created.

    An existing folder is left as it is: it may be the user's own (their home, say); the files in it
    are 0600 anyway.
    """
    if folder.is_dir():
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(folder, FOLDER_MODE)
    except FileExistsError:
        return False
    # mkdir's mode is filtered by the umask; set it exactly (this touches no other file, unlike os.umask).
    os.chmod(folder, FOLDER_MODE)
    return True


def ensure_private_file(path: Path, mode: int | None = None) -> None:
    """Take group and other permissions off ``path`` (files copied in or written by other tools)."""
    if mode is None:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return
    if mode & 0o077:
        log.warning("%s was readable by other users; setting its mode to 0600", path)
        os.chmod(path, FILE_MODE)


def remove_stale_temporaries(folder: Path, owns: Callable[[str], bool]) -> list[Path]:
    """Delete temporary files left by a write that was killed, for targets ``owns(name)`` accepts.

    Only call this while holding the store's lock: a running writer's temp file looks the same.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(_TEMP_SUFFIX)):
            continue
        # ".orders.json.k3j2h1.tmp" -> "orders.json" (mkstemp's random part has no dot)
        target = name[1 : -len(_TEMP_SUFFIX)].rpartition(".")[0]
        if target and owns(target) and entry.is_file(follow_symlinks=False):
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    if removed:
        log.info("removed %d unfinished temporary file(s) from %s", len(removed), folder)
    return removed


# ---------------------------------------------------------------- reading


def read_json_file(path: Path) -> dict[str, Any] | None:
    """The TinyDB data in ``path``; None when the file is missing or empty.

    Anything else that is not a JSON object of tables raises StoreCorrupt naming the file and its
    backup: an unreadable order file must stop the app, never look like an empty one.
    """
    try:
        raw = path.read_bytes()  # opened by path each time; no handle is kept
    except FileNotFoundError:
        return None
    except OSError as err:
        raise StoreCorrupt(path, f"it cannot be opened: {err.strerror or err}", existing_backup(path)) from err
    if not raw:
        return None
    return parse_tinydb(path, raw)


def parse_tinydb(path: Path, raw: bytes) -> dict[str, Any]:
    """Parse the bytes of a TinyDB file, or raise StoreCorrupt naming ``path`` and its backup."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise StoreCorrupt(path, "it is not UTF-8 text", existing_backup(path)) from err
    except json.JSONDecodeError as err:
        detail = f"it is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        raise StoreCorrupt(path, detail, existing_backup(path)) from err
    if not isinstance(data, dict) or not all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values()) for table in data.values()
    ):
        raise StoreCorrupt(path, "it is JSON but not an esim-tui order file", existing_backup(path))
    return data


# ---------------------------------------------------------------- the Storage


# allow_nan=False: NaN and Infinity are not JSON; refuse them rather than write a file nothing can read.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class AtomicJSONStorage(Storage):
    """TinyDB Storage: UTF-8 JSON, written atomically and durably, read by path each time.

    ``cache=True`` keeps the last data read or written in memory, so TinyDB's read-before-every-write
    does not parse the file again, and the encoded JSON of each document with a ``_rev``, so a write
    encodes only the documents that changed. That is only sound while this object is the file's one writer
    (the order store holds a lock for that); after any failed write the cache is dropped, so the next
    read shows what is really on disk. ``read_only=True`` refuses every write.
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False, cache: bool = True) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._use_cache = cache
        self._cache: dict[str, Any] | None = None
        self._fragments: dict[tuple[str, str], tuple[int, bytes]] = {}

    def read(self) -> dict[str, Any] | None:
        """The whole database, or None if the file is missing or empty. Invalid JSON -> StoreCorrupt."""
        if self._cache is not None:
            return self._cache
        data = read_json_file(self.path)
        if self._use_cache:
            self._cache = data
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file with ``data``; durable when it returns. OSError -> StoreWriteFailed."""
        if self.read_only:
            raise StoreReadOnly(self.path)
        # TinyDB has already changed the cached dict in place: until this write succeeds, only the
        # disk is the truth.
        self._cache = None
        # Serialise first: a value JSON cannot hold fails here, before any file is touched.
        payload = self._serialise(data)
        try:
            atomic_write(self.path, payload)
        except OSError as err:
            raise StoreWriteFailed(self.path, err) from err
        if self._use_cache:
            self._cache = data

    def _serialise(self, data: dict[str, Any]) -> bytes:
        """JSON bytes for ``data``, re-encoding only the documents whose revision changed.

        A document with an integer ``_rev`` is encoded once per revision: whoever writes it promises a
        new ``_rev`` with every change (the order store does). Anything else is encoded every time.
        """
        if not all(type(name) is str and type(table) is dict for name, table in data.items()):
            return _encode(data).encode("utf-8")  # not TinyDB's usual shape: let json decide
        before, after = self._fragments, {}
        tables = []
        for name, table in data.items():
            parts = []
            for doc_id, doc in table.items():
                rev = doc.get("_rev") if type(doc) is dict else None
                if type(rev) is not int or type(doc_id) is not str:
                    parts.append(_encode({doc_id: doc})[1:-1].encode("utf-8"))
                    continue
                key = (name, doc_id)
                hit = before.get(key)
                if hit is None or hit[0] != rev:
                    hit = (rev, f"{_encode(doc_id)}:{_encode(doc)}".encode("utf-8"))
                after[key] = hit
                parts.append(hit[1])
            tables.append(b"%s:{%s}" % (_encode(name).encode("utf-8"), b",".join(parts)))
        self._fragments = after
        return b"{%s}" % b",".join(tables)

    def forget(self) -> None:
        """Drop the cached data; the next read parses the file again."""
        self._cache = None

    def close(self) -> None:
        self._cache = None
