"""``esim-tui sandbox``: the simulated providers served over real HTTP."""

from __future__ import annotations

import logging

from esim_tui.sandbox.app import Sandbox
from esim_tui.sandbox.core import SandboxConfig


def serve(host: str, port: int, config: SandboxConfig) -> None:
    import uvicorn

    sandbox = Sandbox(config)
    print(f"esim-tui sandbox on http://{host}:{port}  (seed {config.seed}{'' if config.seeded else ', ICCIDs new to this run'}, speed {config.speed:g}x, scenario {config.scenario})")
    print(f"  Octopus Cards: HOST=http://{host}:{port}  TOKEN=<--token>")
    print(f"  eSIM Go:       http://{host}:{port}/v2.4  X-API-Key: <--esimgo-key>")
    print("  Control:       /_sandbox/ledger, /_sandbox/clock, /_sandbox/faults, /_sandbox/esims/{iccid}/install|usage")
    # A dropped-connection fault is deliberate; keep uvicorn from printing a traceback for each one.
    logging.getLogger("uvicorn.error").addFilter(lambda record: "ConnectionDropped" not in str(record.exc_info))
    uvicorn.run(sandbox.app, host=host, port=port, log_level="info", access_log=True)
