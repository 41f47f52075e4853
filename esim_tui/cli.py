"""The command line: ``esim-tui`` starts the app; ``esim-tui sandbox`` serves the simulated providers;
``esim-tui orders`` prints the order records for scripts and support desks (``orders find TEXT`` and
``orders show ID`` search them and show one, as the Orders screens do)."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path


def build_parser(details: bool = True) -> argparse.ArgumentParser:
    """``details=False`` leaves out the sandbox scenarios and the order filters, which cost imports
    that starting the app must not pay; only a command line naming neither command may use it."""
    parser = argparse.ArgumentParser(
        prog="esim-tui",
        description="Sell travel eSIMs at the counter and look after them at the support desk. "
        "With no provider configured it runs on the built-in sandbox.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    parser.add_argument("--config", type=Path, help="config file (default: $ESIM_TUI_CONFIG or the platform config folder)")
    parser.add_argument("--db", type=Path, help="order file (default: $ESIM_TUI_DB or the platform data folder)")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in sandbox even when providers are configured")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = sub.add_parser("sandbox", help="serve the simulated Octopus Cards and eSIM Go APIs over HTTP",
                             description="Serve the simulated providers: Octopus Cards at /api/v1, eSIM Go at /v2.4, controls at /_sandbox.")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    sandbox.add_argument("--seed", type=int, help="catalogue and randomness seed: the same seed, the same catalogue, ICCIDs and codes "
                         "(default: the catalogue of seed 2026, ICCIDs and codes new each run)")
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated time runs this many times faster (default 1; 0 freezes it)")
    sandbox.add_argument("--token", default="sandbox", help="Octopus Cards bearer token to accept (default 'sandbox')")
    sandbox.add_argument("--esimgo-key", default="sandbox", help="eSIM Go X-API-Key to accept (default 'sandbox')")
    if details:
        from esim_tui.sandbox.core import SCENARIOS
    else:
        SCENARIOS = ("default",)  # noqa: N806
    sandbox.add_argument("--scenario", default="default", choices=SCENARIOS,
                         help="how orders behave: default delivers at once; realistic mixes in PENDING, FAILED and slow ones")

    orders = sub.add_parser("orders", help="print the order records (newest first); find and show them",
                            description="Print the order records, newest first. Reads the order file without locking it, "
                            "so it works while the app runs.")
    orders.add_argument("--json", action="store_true", help="JSON lines, one order per line")
    training = "the training sales (the sandbox's order file beside the one --db names) instead of the shop's"
    orders.add_argument("--sandbox", action="store_true", default=argparse.SUPPRESS, help=training)
    desk = orders.add_subparsers(dest="orders_command", metavar="{find,show}")
    find = desk.add_parser("find", help="search the orders as the Orders screen does",
                           description="Orders matching every word (ICCID or its last digits, client reference, customer, "
                           "e-mail, provider order id, destination, plan, date YYYY-MM-DD), newest first. "
                           "Exit status 1 when none matches. Never prints an activation code.")
    find.add_argument("text", nargs="*", metavar="TEXT",
                      help="what to look for; several words must all match (none: every order, e.g. with --status)")
    find.add_argument("--status", default="all", type=_order_filter, metavar="FILTER",
                      help=f"only orders in this state, as the Orders screen names it: {', '.join(_filters()) if details else '…'} (default all)")
    find.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON lines, one order per line")
    find.add_argument("--sandbox", action="store_true", default=argparse.SUPPRESS, help=training)
    show = desk.add_parser("show", help="one order's detail and whole life",
                           description="One order by its id, client reference, provider order id or full ICCID: plan and price, "
                           "provider ids, eSIM state, bundles and timeline. Exit status 1 when there is no such order.")
    show.add_argument("id", metavar="ID", help="order id, client reference, provider order id or full ICCID")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object")
    show.add_argument("--sandbox", action="store_true", default=argparse.SUPPRESS, help=training)
    return parser


class _Version(argparse.Action):
    """The version is looked up only when asked: importlib.metadata costs the start ~10 ms."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        from esim_tui import __version__

        print(f"esim-tui {__version__}")
        parser.exit()


def _filters() -> list[str]:
    from esim_tui.services.support import OrderFilter

    return [f.cli_name for f in OrderFilter]


_FILTER_ALIASES = {"depleted": "out_of_data"}  # the provider's word, as earlier versions named the filter


def _order_filter(value: str) -> str:
    """The filter's value ("out_of_data") from its name as typed: "out-of-data", "Out of data", "depleted"."""
    wanted = value.strip().lower().replace("-", "_").replace(" ", "_")
    wanted = _FILTER_ALIASES.get(wanted, wanted)
    if wanted.replace("_", "-") not in _filters():
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(_filters())}")
    return wanted


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(details=bool({"sandbox", "orders", "-h", "--help"} & set(words)))
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return _sandbox(args)
    from esim_tui.config_file import ConfigError
    from esim_tui.domain.errors import EsimTuiError

    try:
        if args.command == "orders":
            from esim_tui import reports
            from esim_tui.config import load_settings

            from esim_tui.domain.formats import use_locale

            settings = load_settings(args.config, db=args.db)
            use_locale(settings.ui.locale)
            # The file read is the one named, whatever the environment: --db X reads X, --sandbox the training sales.
            chosen = {"as_json": args.json, "sandbox": args.sandbox, "again": _again(words)}
            if args.orders_command == "find":
                return reports.find_orders(settings, " ".join(args.text), status=args.status, **chosen)
            if args.orders_command == "show":
                return reports.show_order(settings, args.id, **chosen)
            return reports.print_orders(settings, **chosen)
        from esim_tui.config_file import peek
        from esim_tui.ui.app import Boot, run_app

        # The first screen is painted from a first look at the settings; they are validated, the log
        # set up and the services built right after it (a mistake then stops the app, as here).
        first_look = peek(args.config, db=args.db, force_sandbox=args.sandbox)
        if first_look.keymap:  # a key that would not answer is told here, before anything is painted
            from esim_tui.ui.keymap import check_keymap, keys_cache_of

            check_keymap(first_look.keymap, first_look.config_path, keys_cache_of(first_look.order_file))
        return run_app(Boot(first_look, partial(_services, args)))
    except ConfigError as exc:
        print(f"esim-tui: {exc.message}", file=sys.stderr)
        return 2
    except EsimTuiError as exc:
        print(f"esim-tui: {exc.message}", file=sys.stderr)
        return 1


def _again(words: list[str]) -> str:
    """The command as typed, without --sandbox: the hint to the other order file adds it or not."""
    import shlex

    return shlex.join(["esim-tui", *(w for w in words if w != "--sandbox")])


def _services(args: argparse.Namespace):  # -> AppContext, built in the app's boot thread
    from esim_tui.config import load_settings
    from esim_tui.logs import configure_logging
    from esim_tui.ui.context import build_context

    settings = load_settings(args.config, db=args.db)
    # Only real secrets: each value given is masked wherever it appears in the log.
    secrets = [s for s in (settings.octopus.token, settings.esimgo.api_key) if s is not None]
    configure_logging(settings.order_file().parent / "esim-tui.log", secrets)
    return build_context(settings, force_sandbox=args.sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from esim_tui.sandbox.core import SandboxConfig
    from esim_tui.sandbox.server import serve

    if args.speed < 0:
        print("esim-tui sandbox: --speed must be 0 or more", file=sys.stderr)
        return 2
    seeded = {"seed": args.seed} if args.seed is not None else {"seeded": False}
    config = SandboxConfig(**seeded, speed=args.speed, octopus_token=args.token, esimgo_key=args.esimgo_key, scenario=args.scenario)
    try:
        serve(args.host, args.port, config)
    except KeyboardInterrupt:
        pass
    return 0
