"""The in-process sandbox's memory between runs: one JSON state file, and the records it is made of.

The file holds what the simulated world has done (orders, eSIMs, bundles, the ledger, the clock, the
random generator, pending faults), never the catalogue: that comes from the seed, as on every start.
It is replaced atomically (temporary file, fsync, rename; 0600) so a killed app leaves the old or the
new state, never half of one. A file that cannot be read or understood is renamed aside (never
deleted) and the sandbox starts fresh.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from esim_tui import jsonnum
from esim_tui.store.storage import atomic_write, ensure_private_folder

log = logging.getLogger(__name__)

FORMAT = "esim-tui sandbox state"
VERSION = 1


class StateUnreadable(ValueError):
    """The state file is not a sandbox state this version can restore."""


def state_file_beside(order_file: Path) -> Path:
    """Where the sandbox keeps its state for the sales in ``order_file``: ``orders-sandbox.json`` ->
    ``orders-sandbox-state.json``, in the same folder."""
    return order_file.with_name(order_file.stem + "-state" + order_file.suffix)


class StateFile:
    """One state file: read it (setting it aside when unreadable) and replace it atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._write_failing = False
        self._kept_in_place = False  # an unusable file that could not be set aside is never written over

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none, or when it could not be read (then it is set aside)."""
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # nothing saved yet
            return None
        except OSError as exc:
            self.set_aside(f"it could not be read ({exc.strerror or type(exc).__name__})")
            return None
        try:
            data = jsonnum.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise StateUnreadable("it is not a sandbox state file")
            if data.get("version") != VERSION:
                raise StateUnreadable(f"it has version {data.get('version')!r}; this esim-tui reads version {VERSION}")
        except (ValueError, UnicodeDecodeError) as exc:
            self.set_aside(str(exc) if isinstance(exc, StateUnreadable) else f"it is not valid JSON ({exc})")
            return None
        return data

    def set_aside(self, why: str) -> Path | None:
        """Rename the file to ``<name>.bad-<UTC time>`` and say so. Returns the new path, or None when
        it could not be moved (then it stays where it is and later saves must not overwrite it)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.bad-{stamp}-{n}")
        try:
            self.path.rename(aside)
        except OSError as exc:
            log.warning("The sandbox state %s is unusable: %s. It could not be set aside (%s), so the sandbox starts fresh and will not save over it.", self.path, why, exc.strerror or type(exc).__name__)
            self._kept_in_place = True
            return None
        log.warning("The sandbox state %s is unusable: %s. It was kept as %s; the sandbox starts fresh.", self.path, why, aside)
        return aside

    def write(self, state: dict[str, Any]) -> bool:
        """Replace the file with ``state``. A failure is logged (once until a write works again), not raised:
        the sandbox goes on in memory."""
        if self._kept_in_place:
            return False
        try:
            ensure_private_folder(self.path.parent)
            atomic_write(self.path, jsonnum.dumps(state).encode("utf-8"))
        except (OSError, ValueError) as exc:
            if not self._write_failing:
                log.warning("Could not save the sandbox state to %s: %s", self.path, getattr(exc, "strerror", None) or exc)
            self._write_failing = True
            return False
        self._write_failing = False
        return True


# ---------------------------------------------------------------- records


def dump_record(obj: Any, **refs: Any) -> dict[str, Any]:
    """A dataclass as plain JSON values, field by field (private fields left out).

    ``refs`` maps a field to a function that writes it as a reference (a catalogue entry by its id,
    say); datetimes become ISO 8601, sets sorted lists, tuples lists; Decimals stay exact.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name.startswith("_"):
            continue
        value = getattr(obj, f.name)
        out[f.name] = refs[f.name](value) if f.name in refs else plain(value)
    return out


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


_SIMPLE = {"str": str, "int": int, "bool": bool, "float": (int, float, Decimal), "None": type(None)}


def load_record(cls: type, data: Any, **refs: Any) -> Any:
    """The dataclass ``cls`` from what ``dump_record`` wrote. ``refs`` turn references back into objects.

    Fields missing from ``data`` take their defaults; a required one missing, or a value of the wrong
    simple type, raises StateUnreadable.
    """
    if not isinstance(data, dict):
        raise StateUnreadable(f"a {cls.__name__.strip('_')} record is not an object")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name.startswith("_") or f.name not in data:
            continue
        value = data[f.name]
        kind = str(f.type)
        if f.name in refs:
            value = refs[f.name](value)
        elif value is None:
            if "None" not in kind.split(" | "):
                raise StateUnreadable(f"{cls.__name__.strip('_')}.{f.name} may not be null")
        elif kind.startswith("datetime"):
            value = when(value)
        elif kind.startswith("Decimal"):
            value = money(value)
        elif kind.startswith("set["):
            value = set(value)
        elif kind.startswith("float") and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            value = float(value)  # seconds, not money: jsonnum reads every fraction as a Decimal
        else:
            allowed = [_SIMPLE.get(part) for part in kind.split(" | ") if part != "None"]
            if allowed and all(allowed) and not any(_is(value, t) for t in allowed):
                raise StateUnreadable(f"{cls.__name__.strip('_')}.{f.name} should be {kind}, not {value!r}")
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise StateUnreadable(f"a {cls.__name__.strip('_')} record is incomplete: {exc}") from None


def _is(value: Any, kind: Any) -> bool:
    if kind is int and isinstance(value, bool):
        return False
    return isinstance(value, kind)


def when(value: Any) -> datetime:
    """An aware datetime from ISO 8601 text."""
    if not isinstance(value, str):
        raise StateUnreadable(f"{value!r} is not a date-time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise StateUnreadable(f"{value!r} has no time zone")
    return moment


def money(value: Any) -> Decimal:
    """An exact Decimal: jsonnum reads 4.275 as a Decimal and 5 as an int; floats never appear."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise StateUnreadable(f"{value!r} is not an amount")
    return Decimal(value)
