"""What the app runs on: the providers (real or the in-process sandbox), the order store, the services."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from esim_tui import config_file
from esim_tui.config import Settings
from esim_tui.domain import formats
from esim_tui.domain.plans import ProviderName
from esim_tui.providers.base import Provider
from esim_tui.services.ordering import Clock, Sales, utc_now
from esim_tui.services.training import Training


@dataclass
class AppContext:
    settings: Settings
    sales: Sales
    store: object
    on_sandbox: bool
    training: Training | None = None
    now: Clock = utc_now
    _closers: list = field(default_factory=list)

    async def aclose(self) -> None:
        for provider in self.sales.providers.values():
            await provider.aclose()
        if self.training is not None:
            await self.training.aclose()

    def close(self) -> None:
        self.store.close()


def sandbox_order_file(settings: Settings) -> Path:
    """Training sales never mix with real ones: the sandbox keeps its own order file."""
    return config_file.sandbox_order_file(settings.order_file())


def build_context(settings: Settings, *, force_sandbox: bool = False, store=None, sandbox=None, now: Clock = utc_now) -> AppContext:
    """Providers from the settings, or the in-process sandbox when none is configured (or forced)."""
    from esim_tui.providers.esimgo import EsimGo
    from esim_tui.providers.octopus import OctopusCards
    from esim_tui.store.orders import OrderStore

    logging.getLogger("httpx").setLevel(logging.WARNING)  # INFO logs full URLs
    providers: dict[ProviderName, Provider] = {}
    training = None
    on_sandbox = force_sandbox or settings.uses_sandbox
    if on_sandbox:
        from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport, state_file_beside
        from esim_tui.sandbox.core import SandboxConfig

        # A fresh training world hands out its own ICCIDs; a restarted one goes on from its state file.
        sandbox = sandbox or Sandbox(SandboxConfig(seeded=False), state_file=state_file_beside(sandbox_order_file(settings)))
        transport = sandbox_transport(sandbox)
        providers[ProviderName.OCTOPUS] = OctopusCards(IN_PROCESS_URL, SecretStr(sandbox.config.octopus_token), transport=transport)
        providers[ProviderName.ESIMGO] = EsimGo(IN_PROCESS_URL + "/v2.4", SecretStr(sandbox.config.esimgo_key), transport=transport)
        training = Training(IN_PROCESS_URL, transport)
        path = sandbox_order_file(settings)
        if now is utc_now:  # training: "a week passes" moves the records' clock with the sandbox's
            now = sandbox.state.clock.now
    else:
        if settings.octopus.token is not None:
            providers[ProviderName.OCTOPUS] = OctopusCards(settings.octopus.url, settings.octopus.token)
        if settings.esimgo.api_key is not None:
            providers[ProviderName.ESIMGO] = EsimGo(settings.esimgo.url, settings.esimgo.api_key)
        path = settings.order_file()
    # Prices, data and dates in the shop's locale; "this year" by the records' clock (fixed in tests).
    formats.use_locale(settings.ui.locale, clock=now)
    if store is None:
        store = OrderStore.open(path)
    sales = Sales(providers, store, now=now)
    return AppContext(settings=settings, sales=sales, store=store, on_sandbox=on_sandbox, training=training, now=now)


def close_quietly(ctx: AppContext) -> None:
    try:
        asyncio.run(ctx.aclose())
    finally:
        ctx.close()
