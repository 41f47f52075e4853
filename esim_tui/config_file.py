"""Where the settings come from (the TOML file, the environment, --db), without validating them.

Standard library and platformdirs only: ``peek`` gives the app what it needs to paint its first screen
(theme, keys, order file, sandbox or not) before pydantic is imported. ``config.load_settings``
validates the same raw data; a mistake is reported from there, with the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esim_tui.domain.errors import EsimTuiError

APP_NAME = "esim-tui"
DEFAULT_THEME = "esim-dark"

ENV = {
    "ESIM_TUI_OCTOPUS_URL": ("octopus", "url"),
    "ESIM_TUI_OCTOPUS_TOKEN": ("octopus", "token"),
    "ESIM_TUI_ESIMGO_URL": ("esimgo", "url"),
    "ESIM_TUI_ESIMGO_API_KEY": ("esimgo", "api_key"),
    "ESIM_TUI_DB": ("store", "path"),
}


class ConfigError(EsimTuiError):
    def __init__(self, path: Path | None, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        where = f"{path}" if path else "the environment"
        super().__init__(f"Configuration error in {where}, key '{key}': {problem}.", "Fix it and start again.")


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def raw_settings(path: Path | None = None, environ: Mapping[str, str] | None = None, db: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The config file (if any) with the environment and ``db`` (the --db option) on top, unvalidated."""
    env = os.environ if environ is None else environ
    if path is None:
        path = Path(env["ESIM_TUI_CONFIG"]) if env.get("ESIM_TUI_CONFIG") else default_config_path()
        explicit = "ESIM_TUI_CONFIG" in env
    else:
        explicit = True
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(path, "(file)", f"not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, "(file)", f"cannot be read: {exc}") from None
    elif explicit:
        raise ConfigError(path, "(file)", "the file does not exist")
    for var, (section, key) in ENV.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    if db is not None:
        data.setdefault("store", {})["path"] = str(db)
    return path, data


def order_file_of(store_path: object) -> Path:
    return Path(store_path) if store_path else default_data_dir() / "orders.json"


def sandbox_order_file(order_file: Path) -> Path:
    """Training sales never mix with real ones: the sandbox keeps its own order file."""
    return order_file.with_name(order_file.stem + "-sandbox" + order_file.suffix)


@dataclass(frozen=True)
class FirstLook:
    """What the first screen needs, read from the raw settings; validation comes after the paint."""

    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)
    order_file: Path | None = None  # the file this run's orders go to (the sandbox's own when on it)
    providers: tuple[str, ...] = ()  # the names of the providers on sale (both on the sandbox)
    on_sandbox: bool = True


def peek(path: Path | None = None, environ: Mapping[str, str] | None = None, db: Path | None = None, *, force_sandbox: bool = False) -> FirstLook:
    """A first look at the settings. A file that cannot be read or parsed is a ConfigError here; a
    value of the wrong shape falls back to a default, and the validation that follows reports it."""
    _path, data = raw_settings(path, environ, db)
    try:
        section = lambda name: data.get(name) if isinstance(data.get(name), dict) else {}  # noqa: E731
        providers = tuple(
            name for name, key in (("esimgo", "api_key"), ("octopus", "token")) if section(name).get(key) is not None
        )
        on_sandbox = force_sandbox or not providers
        order_file = order_file_of(section("store").get("path"))
        ui = section("ui")
        theme = ui.get("theme", DEFAULT_THEME)
        keymap = ui.get("keymap", {})
        return FirstLook(
            theme=theme if isinstance(theme, str) else DEFAULT_THEME,
            keymap={str(k): str(v) for k, v in keymap.items()} if isinstance(keymap, dict) else {},
            order_file=sandbox_order_file(order_file) if on_sandbox else order_file,
            providers=("esimgo", "octopus") if on_sandbox else providers,
            on_sandbox=on_sandbox,
        )
    except Exception:  # noqa: BLE001 - reported by the validation that follows
        return FirstLook(on_sandbox=force_sandbox)
