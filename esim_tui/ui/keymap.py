"""The ``[ui] keymap`` checked against the app's keys: an unknown binding id, or a key given to two
of them where both answer at once (the same screen, or a screen and the app), stops the start.

Textual itself ignores an unknown id and lets a clash shadow one of the keys: the agent would find out
at the counter. Checking imports every screen (~0.1 s), so it runs only when a keymap is set.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
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


def _keys(binding_id: str, default: set[str], keymap: Mapping[str, str]) -> set[str]:
    given = keymap.get(binding_id)
    if not given:
        return default
    return {key.strip() for key in App._normalize_keymap({binding_id: given})[binding_id].split(",") if key.strip()}


def check_keymap(keymap: Mapping[str, str], path: Path | None = None) -> None:
    """Raise ConfigError naming the first unknown id (with the valid ones) or clash in ``keymap``."""
    scopes = binding_scopes()
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
