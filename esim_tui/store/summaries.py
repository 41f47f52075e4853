"""Per-segment summaries: a few columns per order, cached beside each archive segment.

Reading 100,000 full orders (decoding ~150 MB of JSON and validating every ``Order``) takes seconds;
a list that shows a few columns per order needs far less. A *summary* is whatever columns a reader
(say the support desk's finder) makes from each order, given by a ``Summary``: ``make`` turns orders
into columns, ``read`` turns the columns back into the reader's items. The store keeps them in a file
beside each segment, ``orders-archive-000042.summary.json``, and reads the segment itself only when
that file is missing, unreadable, made by another ``Summary.tag`` or older than the segment.

Like the index file (see ``index``), a summary file is only a cache: it records the segment's
fingerprint (inode, size, mtime) and is written atomically, mode 0600. A summary must never hold an
activation code or any other secret: only what a list shows and what a search matches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, TypeVar

from esim_tui.domain.orders import Order
from esim_tui.store.storage import atomic_write

FORMAT = 1

T = TypeVar("T")

# What a damaged or hand-edited summary file may raise in Summary.read: caught, and the segment read.
UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError)


class Summary(Protocol[T]):
    """How one kind of summary is made from orders and read back (see the module docstring)."""

    @property
    def tag(self) -> str:
        """Names the columns and what made them: a file with another tag is rebuilt from its segment.
        Change it whenever ``make`` would write something else for the same order."""
        ...

    def make(self, orders: list[Order]) -> dict[str, Any]:
        """Columns (JSON values, in whatever shape ``read`` takes back) for ``orders``. No secrets."""
        ...

    def read(self, ids: list[str], columns: dict[str, Any]) -> list[T]:
        """One item per id, from columns as ``make`` wrote them (maybe after a JSON round trip).

        The file may have been damaged or edited: check every shape and type, and raise one of
        ``UNREADABLE`` on anything unexpected; the store then rebuilds from the segment.
        """
        ...


class SummaryFile:
    """The ids, revisions and columns read from one summary file."""

    __slots__ = ("columns", "ids", "revs")

    def __init__(self, ids: list[str], revs: list[int], columns: dict[str, Any]) -> None:
        self.ids = ids
        self.revs = revs
        self.columns = columns


def read_summary(path: Path, expected: list[int], tag: str) -> SummaryFile | None:
    """The summary in ``path`` if it was made by ``tag`` for a segment with fingerprint ``expected``
    and is well formed, else None (missing, damaged, stale: the caller reads the segment instead)."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT or data.get("tag") != tag or data.get("fingerprint") != expected:
            return None
        ids, revs, columns = data["ids"], data["revs"], data["columns"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (isinstance(ids, list) and isinstance(revs, list) and isinstance(columns, dict)):
        return None
    n = len(ids)
    if not (
        len(revs) == n
        and set(map(type, ids)) <= {str}
        and set(map(type, revs)) <= {int}
        and len(set(ids)) == n  # a duplicated id could stand in for a missing one
    ):
        return None
    return SummaryFile(ids, revs, columns)


def write_summary(path: Path, fp: list[int], tag: str, ids: list[str], revs: list[int], columns: dict[str, Any]) -> None:
    """Write the summary of a segment with fingerprint ``fp``. Raises OSError (and ValueError for a
    value JSON cannot hold)."""
    data = {"format": FORMAT, "tag": tag, "fingerprint": fp, "ids": ids, "revs": revs, "columns": columns}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    atomic_write(path, payload)
