"""Settings: a TOML file in the platform's config folder, then environment variables on top.

File: ``$ESIM_TUI_CONFIG`` or ``<platform config dir>/esim-tui/config.toml``. Environment variables:
``ESIM_TUI_OCTOPUS_URL``, ``ESIM_TUI_OCTOPUS_TOKEN``, ``ESIM_TUI_ESIMGO_URL``, ``ESIM_TUI_ESIMGO_API_KEY``,
``ESIM_TUI_DB``. A mistake in the file is reported with the file, the line and the key.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from esim_tui.config_file import ENV, ConfigError, default_config_path, default_data_dir, line_of, order_file_of, raw_settings

__all__ = ["ConfigError", "Settings", "default_config_path", "default_data_dir", "load_settings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OctopusSettings(_Section):
    url: str = "https://api.octopuscards.io"
    """Base URL of the Octopus Cards API (a served sandbox: http://127.0.0.1:8765)."""
    token: SecretStr | None = None
    """Bearer token. Octopus Cards is used only when this is set."""


class EsimGoSettings(_Section):
    url: str = "https://api.esim-go.com/v2.4"
    """Base URL of the eSIM Go v2.4 API (a served sandbox: http://127.0.0.1:8765/v2.4)."""
    api_key: SecretStr | None = None
    """X-API-Key. eSIM Go is used only when this is set."""


class StoreSettings(_Section):
    path: Path | None = None
    """The order file; by default orders.json in the platform's data folder."""


class UiSettings(_Section):
    theme: Literal["esim-dark", "esim-light", "esim-high-contrast"] = "esim-dark"
    """The colour theme; switch at run time from the command palette."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Remap keys by binding id, e.g. keymap = { "confirm.buy" = "b" } (F1 shows the ids; an unknown id or a clash stops the start)."""
    export_folder: Path = Path("~/esim-tui-exports")
    """Where "export" offers to save a QR (PNG, SVG) and its install links; the agent may type another."""
    keep_finished_hours: float = Field(default=24.0, ge=0)
    """How long an expired or refunded order stays under "Orders in play" after it ended, in hours."""
    locale: str = "en"
    """How numbers, prices and dates read: "en" (default), "en_GB", "de", "fr_CH"... (Babel's names)."""

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        from esim_tui.domain.formats import parse_locale

        return parse_locale(value)


class BalanceSettings(_Section):
    warn_below: Decimal = Decimal("50")
    """Warn in the header when a provider balance falls below this amount."""


class Settings(_Section):
    octopus: OctopusSettings = Field(default_factory=OctopusSettings)
    esimgo: EsimGoSettings = Field(default_factory=EsimGoSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    balance: BalanceSettings = Field(default_factory=BalanceSettings)

    @property
    def uses_sandbox(self) -> bool:
        """No provider has credentials: the in-process sandbox serves the app."""
        return self.octopus.token is None and self.esimgo.api_key is None

    def order_file(self) -> Path:
        return order_file_of(self.store.path)


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None, db: Path | None = None) -> Settings:
    """Read the config file (if any), then the environment, then ``db`` (the --db option)."""
    path, data = raw_settings(path, environ, db)
    env = os.environ if environ is None else environ
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        env_var = next((v for v, k in ENV.items() if ".".join(k) == key and env.get(v)), None)
        if env_var:
            raise ConfigError(None, env_var, err["msg"].lower()) from None
        raise ConfigError(path, key, err["msg"].lower(), line=line_of(path, *(str(p) for p in err["loc"]))) from None
