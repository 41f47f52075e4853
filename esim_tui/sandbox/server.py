"""``esim-tui sandbox``: the simulated providers served over real HTTP."""

from __future__ import annotations

import logging

from esim_tui.sandbox.app import Sandbox
from esim_tui.sandbox.core import SandboxConfig


def banner(host: str, port: int, config: SandboxConfig) -> str:
    """What the served sandbox says at start: where it listens and the credentials it accepts, as the
    app's environment variables to paste (these are the sandbox's own, given on its command line)."""
    url = f"http://{host}:{port}"
    return "\n".join(
        (
            f"esim-tui sandbox on {url}  (seed {config.seed}{'' if config.seeded else ', ICCIDs new to this run'}, speed {config.speed:g}x, scenario {config.scenario})",
            f"  Octopus Cards: ESIM_TUI_OCTOPUS_URL={url}  ESIM_TUI_OCTOPUS_TOKEN={config.octopus_token}",
            f"  eSIM Go:       ESIM_TUI_ESIMGO_URL={url}/v2.4  ESIM_TUI_ESIMGO_API_KEY={config.esimgo_key}",
            "  Control:       /_sandbox/ledger, /_sandbox/clock, /_sandbox/faults, /_sandbox/esims/{iccid}/install|usage",
        )
    )


def serve(host: str, port: int, config: SandboxConfig) -> None:
    import uvicorn

    sandbox = Sandbox(config)
    print(banner(host, port, config))
    # A dropped-connection fault is deliberate; keep uvicorn from printing a traceback for each one.
    logging.getLogger("uvicorn.error").addFilter(lambda record: "ConnectionDropped" not in str(record.exc_info))
    uvicorn.run(sandbox.app, host=host, port=port, log_level="info", access_log=True)
