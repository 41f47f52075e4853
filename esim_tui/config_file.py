"""Where the settings come from (the TOML file, the environment, --db), without validating them.

Standard library and platformdirs only: ``peek`` gives the app what it needs to paint its first screen
(theme, keys, order file, sandbox or not) before pydantic is imported. ``config.load_settings``
validates the same raw data; a mistake is reported from there, with the file and the key.
"""

from __future__ import annotations

import os
import re
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
    """A mistake in the settings, told with the file (or the environment variable), the line and the key."""

    def __init__(self, path: Path | None, key: str | None, problem: str, *, line: int | None = None, column: int | None = None) -> None:
        self.path = path
        self.key = key
        self.line = line
        where = [f"{path}" if path else "the environment"]
        if line is not None:
            where.append(f"line {line}" + (f", column {column}" if column is not None else ""))
        if key is not None:
            where.append(f"key '{key}'")
        super().__init__(f"Configuration error in {', '.join(where)}: {problem}.", "Fix it and start again.")


_TOML_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """tomllib puts the place at the end of its message ("... (at line 3, column 9)"): put it first."""
    text = str(exc)
    found = _TOML_AT.match(text)
    if found is None:
        return ConfigError(path, None, f"not valid TOML: {text}")
    msg = found["msg"]
    return ConfigError(path, None, f"not valid TOML: {msg[:1].lower()}{msg[1:]}", line=int(found["line"]), column=int(found["column"]))


def line_of(path: Path | None, *key: str) -> int | None:
    """The line of the file where ``key`` is set (("ui", "keymap", "buy"), ("octopus", "tokn")), or None:
    ``[section]`` headers and ``name =`` or inline ``{ "name" = ... }`` entries, as far as a plain scan finds them."""
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    *sections, name = key
    table: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip() if '"' not in raw and "'" not in raw else raw.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]", line)
        if header:
            table = [part.strip().strip("\"'") for part in header[1].split(".")]
            continue
        for depth in range(len(sections), -1, -1):
            # "name = ..." under [a.b], or "b.name = ..." / "b = { name = ... }" under [a]
            if table != sections[:depth]:
                continue
            rest = sections[depth:]
            prefix = r"\s*\.\s*".join(re.escape(p) for p in rest)
            names = rf"""(?:"{re.escape(name)}"|'{re.escape(name)}'|{re.escape(name)})"""
            if rest and re.match(rf"{prefix}\s*\.\s*{names}\s*=", line):
                return number
            if rest and re.match(rf"{prefix}\s*=\s*\{{.*(?:^|[{{,\s]){names}\s*=", line):
                return number
            if not rest and re.match(rf"{names}\s*=", line):
                return number
    return None


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
            raise toml_error(path, exc) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, None, f"cannot be read: {exc}") from None
    elif explicit:
        raise ConfigError(path, None, "the file does not exist")
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
    config_path: Path | None = None  # the file the settings came from (it may not exist)


def peek(path: Path | None = None, environ: Mapping[str, str] | None = None, db: Path | None = None, *, force_sandbox: bool = False) -> FirstLook:
    """A first look at the settings. A file that cannot be read or parsed is a ConfigError here; a
    value of the wrong shape falls back to a default, and the validation that follows reports it."""
    path, data = raw_settings(path, environ, db)
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
            config_path=path,
        )
    except Exception:  # noqa: BLE001 - reported by the validation that follows
        return FirstLook(on_sandbox=force_sandbox, config_path=path)
