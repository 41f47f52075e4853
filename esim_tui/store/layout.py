"""The names of a store's files, all beside its active file (see ``store.orders`` for what each holds)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from esim_tui.store.index import fingerprint

ACTIVE = 0  # location of the active file; archive segments are numbered from 1


class Layout:
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
