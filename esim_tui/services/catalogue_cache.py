"""The destination list saved at each complete catalogue load, painted at the next start.

Standard library only, so the app can read it before the heavy imports: the counter can type a
destination while the providers are still being asked. It holds no prices the sale relies on (the
confirmation always quotes anew) and no secrets. A missing, stale-format or damaged file is simply
not used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from esim_tui.services.catalogue_index import CatalogueIndex, DestinationLine

log = logging.getLogger(__name__)

FORMAT = 2  # 2: folded aliases (UK, Holland...), regional plans counted in a country's line


def catalogue_file(order_file: Path) -> Path:
    """Beside the order file it serves: real and sandbox catalogues never mix."""
    return order_file.with_name(order_file.stem + ".catalogue.json")


def save_index(path: Path, index: CatalogueIndex, providers: Collection[str], saved_at: datetime) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of one."""
    body = {
        "format": FORMAT,
        "saved_at": saved_at.isoformat(),
        "providers": sorted(providers),
        "destinations": [line.to_json() for line in index.lines],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".catalogue-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_index(path: Path, providers: Collection[str]) -> tuple[CatalogueIndex, datetime] | None:
    """The saved destination list and when it was saved, if it was saved for these providers."""
    try:
        body = json.loads(path.read_bytes())
        if body.get("format") != FORMAT or body.get("providers") != sorted(providers):
            return None
        index = CatalogueIndex(DestinationLine.from_json(row) for row in body["destinations"])
        return index, datetime.fromisoformat(body["saved_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("The saved catalogue %s is not used: %s", path, exc)
        return None
