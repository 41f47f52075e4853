"""The command line: ``esim-tui`` starts the app; ``esim-tui sandbox`` serves the simulated providers;
``esim-tui orders`` prints the order records for scripts and support desks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from esim_tui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esim-tui",
        description="Sell travel eSIMs at the counter and look after them at the support desk. "
        "With no provider configured it runs on the built-in sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"esim-tui {__version__}")
    parser.add_argument("--config", type=Path, help="config file (default: $ESIM_TUI_CONFIG or the platform config folder)")
    parser.add_argument("--db", type=Path, help="order file (default: $ESIM_TUI_DB or the platform data folder)")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in sandbox even when providers are configured")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = sub.add_parser("sandbox", help="serve the simulated Octopus Cards and eSIM Go APIs over HTTP",
                             description="Serve the simulated providers: Octopus Cards at /api/v1, eSIM Go at /v2.4, controls at /_sandbox.")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    sandbox.add_argument("--seed", type=int, default=2026, help="catalogue and randomness seed (default 2026)")
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated time runs this many times faster (default 1; 0 freezes it)")
    sandbox.add_argument("--token", default="sandbox", help="Octopus Cards bearer token to accept (default 'sandbox')")
    sandbox.add_argument("--esimgo-key", default="sandbox", help="eSIM Go X-API-Key to accept (default 'sandbox')")
    from esim_tui.sandbox.core import SCENARIOS

    sandbox.add_argument("--scenario", default="default", choices=SCENARIOS,
                         help="how orders behave: default delivers at once; realistic mixes in PENDING, FAILED and slow ones")

    orders = sub.add_parser("orders", help="print the order records (newest first)")
    orders.add_argument("--json", action="store_true", help="JSON lines, one order per line")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return _sandbox(args)
    from esim_tui.config import ConfigError, load_settings
    from esim_tui.domain.errors import EsimTuiError

    try:
        settings = load_settings(args.config, db=args.db)
        if args.command == "orders":
            from esim_tui.reports import print_orders

            return print_orders(settings, as_json=args.json)
        from esim_tui.ui.app import run_app

        return run_app(settings, force_sandbox=args.sandbox)
    except ConfigError as exc:
        print(f"esim-tui: {exc.message}", file=sys.stderr)
        return 2
    except EsimTuiError as exc:
        print(f"esim-tui: {exc.message}", file=sys.stderr)
        return 1


def _sandbox(args: argparse.Namespace) -> int:
    from esim_tui.sandbox.core import SandboxConfig
    from esim_tui.sandbox.server import serve

    if args.speed < 0:
        print("esim-tui sandbox: --speed must be 0 or more", file=sys.stderr)
        return 2
    config = SandboxConfig(seed=args.seed, speed=args.speed, octopus_token=args.token, esimgo_key=args.esimgo_key, scenario=args.scenario)
    try:
        serve(args.host, args.port, config)
    except KeyboardInterrupt:
        pass
    return 0
