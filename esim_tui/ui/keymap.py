"""The ``[ui] keymap`` checked against the app's keys: an unknown binding id, or a key given to two
of them where both answer at once (the same screen, or a screen and the app), stops the start.

Textual itself ignores an unknown id and lets a clash shadow one of the keys: the agent would find out
at the counter. Collecting the ids imports every screen (0.1-0.2 s, and pydantic before the first
paint), so the ids are kept in a small file beside the order file and collected again only when the
app's screens change (their files' sizes and times): a start with a keymap then costs a file read.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.app import App
from textual.dom import DOMNode

from esim_tui.config_file import ConfigError, line_of

_PACKAGES = ("esim_tui.ui.screens", "esim_tui.ui.widgets")


def _nodes() -> Iterable[type[DOMNode]]:
    """The app's own screens and widgets, each class that declares keys."""
    for package_name in _PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                    yield cls


def _ids(node: type[DOMNode]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for key, bindings in node._merge_bindings().key_to_bindings.items():
        for binding in bindings:
            if binding.id:
                ids.setdefault(binding.id, set()).add(key)
    return ids


def binding_scopes() -> dict[str, dict[str, set[str]]]:
    """Binding id -> its default keys, per class that declares them: "EsimApp" first, then each screen and widget."""
    from esim_tui.ui.app import EsimApp

    scopes = {"EsimApp": _ids(EsimApp)}
    for node in _nodes():
        ids = _ids(node)
        if ids:
            scopes[node.__name__] = ids
    return scopes


CACHE_FORMAT = "esim-tui binding ids 1"


def _stamp() -> list[list[object]]:
    """What the ids depend on: the app's and its screens' and widgets' source files, as they are now."""
    ui = Path(__file__).parent
    files = sorted([ui / "app.py", *(ui / "screens").glob("*.py"), *(ui / "widgets").glob("*.py")])
    return [[f.name, st.st_size, st.st_mtime_ns] for f in files for st in (f.stat(),)]


def known_scopes(cache: Path | None) -> dict[str, dict[str, set[str]]]:
    """``binding_scopes()``, from ``cache`` when it was written for these very screens."""
    stamp = _stamp()
    if cache is not None:
        try:
            body = json.loads(cache.read_bytes())
            if body["format"] == CACHE_FORMAT and body["stamp"] == stamp:
                return {name: {i: set(keys) for i, keys in ids.items()} for name, ids in body["scopes"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing, damaged or of other screens: collected again
    scopes = binding_scopes()
    if cache is not None and cache.parent.is_dir():  # the folder is the store's to create (0700)
        body = {"format": CACHE_FORMAT, "stamp": stamp, "scopes": {n: {i: sorted(k) for i, k in ids.items()} for n, ids in scopes.items()}}
        try:
            fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=cache.parent)
        except OSError:
            return scopes  # only the next start is slower
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, separators=(",", ":"))
            os.replace(tmp, cache)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
    return scopes


def keys_cache_of(order_file: Path | None) -> Path | None:
    """``orders.keys.json`` beside ``orders.json``: the binding ids, for the next start's check."""
    return order_file.with_name(order_file.stem + ".keys.json") if order_file is not None else None


def _keys(binding_id: str, default: set[str], keymap: Mapping[str, str]) -> set[str]:
    given = keymap.get(binding_id)
    if not given:
        return default
    return {key.strip() for key in App._normalize_keymap({binding_id: given})[binding_id].split(",") if key.strip()}


def check_keymap(keymap: Mapping[str, str], path: Path | None = None, cache: Path | None = None) -> None:
    """Raise ConfigError naming the first unknown id (with the valid ones) or clash in ``keymap``."""
    scopes = known_scopes(cache)
    app_ids = scopes["EsimApp"]
    valid = sorted({binding_id for ids in scopes.values() for binding_id in ids})
    for binding_id, keys in keymap.items():
        line = line_of(path, "ui", "keymap", binding_id)
        if binding_id not in valid:
            listed = f"The ids: {', '.join(valid)} (F1 in the app shows those of each screen)"
            raise ConfigError(path, f"ui.keymap.{binding_id}", f"no key has the id '{binding_id}'. {listed}", line=line)
        if not str(keys).strip():
            raise ConfigError(path, f"ui.keymap.{binding_id}", 'give at least one key, e.g. "b" or "ctrl+b"', line=line)
    for name, ids in scopes.items():
        together = ids if name == "EsimApp" else {**app_ids, **ids}
        owner: dict[str, str] = {}
        for binding_id, default in together.items():
            for key in _keys(binding_id, default, keymap):
                other = owner.setdefault(key, binding_id)
                if other != binding_id and (binding_id in keymap or other in keymap):
                    remapped = binding_id if binding_id in keymap else other
                    raise ConfigError(
                        path,
                        f"ui.keymap.{remapped}",
                        f"'{key}' is the key of both '{other}' and '{binding_id}', which answer on the same screen: "
                        "give one of them another key. "
                        f"The ids: {', '.join(valid)}",
                        line=line_of(path, "ui", "keymap", remapped),
                    )
