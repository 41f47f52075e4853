"""Speed of the counter's sale screens with a big catalogue: 10,000 plans across both providers.

The real app (``EsimApp``) runs headless (Textual's ``run_test``) on two small fake providers that serve
fixed plan lists (``FixedPlans`` below): 9,500 plans over every country, region and "global", and 500
for Japan (250 from each provider).

What is measured, and how:

- **a keystroke in the destination search** (target: median <= 16 ms, one frame). From just before
  ``pilot.press(key)`` until the end of the first screen update painted after the destination table
  received its new rows: the key event, ``Input.Changed``, ``Catalogue.search``, ``OfferTable.set_rows``,
  layout, and the compositor rendering the changed lines. Headless Textual skips turning the update
  into terminal escape codes; the probe does that step too (``render_segments``), so only the write
  to a terminal is missing. Typing several destinations from an empty box, Backspace included (a typo, an alias
  and an accented name among them, so the typo-tolerant matching is in the figure).
- **opening a destination with 500 plans** of its own (and the Asia and global plans covering it) (target <= 50 ms): from just before Enter on "Japan" until
  the first update painted with the plans screen current and its 500 rows set.
- **start-up** (target: at most 1.5 times a bare Textual app): each app runs in a fresh ``python``
  process; the time is from just before the process is spawned until the end of the first painted
  update that shows what makes it interactive. For esim-tui that is the catalogue screen with the
  catalogue loaded from the providers (10,000 plans built and validated as an adapter would),
  indexed (``Catalogue.build``) and its table filled; for the bare app, the same widgets (top bar,
  search ``Input``, ``OfferTable`` for destinations and orders in play, ``Footer``, the same CSS)
  with no data. Runs alternate between the two, side by side in one run; medians are compared.

The figures are wall-clock on a shared machine: the medians matter, single samples jump.
Run: python -m tests.benchmarks.bench_counter
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TOTAL_PLANS = 10_000
BIG = 500  # plans for Japan
KEYSTROKE_TARGET_MS = 16.0
OPEN_TARGET_MS = 50.0
STARTUP_RATIO_TARGET = 1.5
STARTUP_RUNS = 9  # the machine is shared: single starts jump by 0.1 s
SIZE = (120, 40)
TYPED = ["japan", "united kingdom", "south korea", "europe", "jpn", "global", "brazil", "itlay", "uk", "cote d'ivoire"]  # a typo, an alias, accents


# ---------------------------------------------------------------- the catalogue and its providers


def plan_payload(total: int = TOTAL_PLANS, big: int = BIG) -> list[dict[str, Any]]:
    """What the two providers answer, as parsed JSON: ``total`` plans, ``big`` of them for Japan, the
    rest spread over every destination (destinations as an adapter reads them: ISO code, region or
    "GLOBAL"; prices as decimal strings)."""
    from decimal import Decimal

    from esim_tui.domain.destinations import GLOBAL, Region, all_countries
    from esim_tui.domain.plans import ProviderName

    places = [d.code for d in all_countries() if d.code != "JP"] + [r.value for r in Region] + [GLOBAL.code]
    payload = []
    for n in range(total):
        place = "JP" if n < big else places[n % len(places)]
        gb, days = (1, 3, 5, 10, 20)[n % 5], (7, 15, 30)[n % 3]
        payload.append(
            {
                "provider": (ProviderName.OCTOPUS if n % 2 else ProviderName.ESIMGO).value,
                "plan_id": f"plan-{n:05d}",
                "product_id": f"prod-{place}",
                "name": f"{place} {gb} GB / {days} days" + (f" #{n}" if n < big else ""),
                "destination": place,
                "data_mb": gb * 1000,
                "validity_days": days,
                "amount": str(Decimal(gb) * Decimal("1.75") + Decimal(n % 97) / 100),
                "currency": "USD",
            }
        )
    return payload


def fake_providers(payload: Sequence[dict[str, Any]]):
    """Two providers (Octopus Cards, eSIM Go) serving the plans in ``payload``; plans are built on the
    first ``plans()`` call as an adapter builds them from the provider's answer."""
    from esim_tui.domain.destinations import GLOBAL, DestinationKind, country, region
    from esim_tui.domain.errors import NotOffered
    from esim_tui.domain.money import Money
    from esim_tui.domain.orders import EsimStatus
    from esim_tui.domain.plans import Plan, ProviderName, Quote
    from esim_tui.providers.base import Provider

    def destination(place: str):
        if place == GLOBAL.code:
            return GLOBAL
        return country(place) if len(place) == 2 else region(place)

    def plan(item: dict[str, Any]) -> Plan:
        place = destination(item["destination"])
        return Plan(
            provider=ProviderName(item["provider"]),
            plan_id=item["plan_id"],
            product_id=item["product_id"],
            name=item["name"],
            destination=place,
            data_mb=item["data_mb"],
            validity_days=item["validity_days"],
            price=Money(amount=item["amount"], currency=item["currency"]),
            coverage=(place.code,) if place.kind is DestinationKind.COUNTRY else (),
        )

    class FixedPlans(Provider):
        """A provider over a fixed plan list; it sells nothing."""

        def __init__(self, name: ProviderName, payload: Sequence[dict[str, Any]]) -> None:
            self.name = name
            self._payload = [item for item in payload if item["provider"] == name.value]
            self._plans: list[Plan] | None = None

        async def plans(self, *, refresh: bool = False) -> Sequence[Plan]:
            if self._plans is None or refresh:
                self._plans = [plan(item) for item in self._payload]
            return self._plans

        async def quote(self, plan: Plan) -> Quote:
            return Quote(plan_key=plan.key, total=plan.price)

        async def place_order(self, plan, client_reference, *, iccid=None):
            raise NotOffered(self.name, "sales in a benchmark", "")

        async def get_order(self, provider_order_id):
            raise NotOffered(self.name, "orders in a benchmark", "")

        async def find_order(self, order):
            return None

        async def esim_status(self, order):
            return EsimStatus()

        async def balance(self):
            return None

    return {name: FixedPlans(name, payload) for name in (ProviderName.OCTOPUS, ProviderName.ESIMGO)}


def counter_app(folder: Path, payload: Sequence[dict[str, Any]]):
    """The real app on the fake providers, with an empty order store in ``folder``, not polling."""
    from esim_tui.config import load_settings
    from esim_tui.services.ordering import Sales
    from esim_tui.store.orders import OrderStore
    from esim_tui.ui.app import EsimApp
    from esim_tui.ui.context import AppContext

    settings = load_settings(None, environ={}, db=folder / "orders.json")
    store = OrderStore.open(folder / "orders.json")
    ctx = AppContext(settings=settings, sales=Sales(fake_providers(payload), store), store=store, on_sandbox=False)
    return EsimApp(ctx, follow=False)


# ---------------------------------------------------------------- timing what is painted


class PaintProbe:
    """Wraps ``app._display`` (called with each compositor update) to timestamp what is painted.

    ``arm(ready)`` starts a measurement: ``ready()`` is checked at each paint, and the first paint for
    which it holds ends it: ``painted_at`` is then ``clock()``, and ``then()`` is called.
    """

    def __init__(self, app, clock=time.perf_counter, then=None) -> None:
        self.app = app
        self._ready = None
        self.painted_at: float | None = None
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is not None and app.is_headless:
                renderable.render_segments(app.console)  # the escape codes a terminal would get
            if self._ready is not None and self.painted_at is None and self._ready():
                self.painted_at = clock()
                if then is not None:
                    then()

        app._display = display

    def arm(self, ready) -> None:
        self._ready = ready
        self.painted_at = None


def _no_blink() -> None:
    from textual.widgets import Input

    Input._toggle_cursor = lambda self: None  # a blink would repaint between measurements


async def _wait_for(probe: PaintProbe, pilot, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while probe.painted_at is None:
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen never painted what was expected")
        await pilot.pause()
    return probe.painted_at


async def measure_screens(payload: Sequence[dict[str, Any]]) -> dict[str, list[float]]:
    """Keystroke and open-destination samples (ms) on the real app."""
    from esim_tui.ui.screens.plans import PlansScreen

    _no_blink()
    out: dict[str, list[float]] = {"keystroke": [], "open": []}
    with tempfile.TemporaryDirectory(prefix="bench-counter-") as tmp:
        app = counter_app(Path(tmp), payload)
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.started.wait(), 60)
            await pilot.pause()
            screen = app.catalogue_screen
            assert app.catalogue is not None and app.catalogue.plan_count == len(payload)
            probe = PaintProbe(app)
            table = screen.table
            set_rows = table.set_rows
            changed: list[float] = []

            def recording_set_rows(rows, *, keep=None):
                set_rows(rows, keep=keep)
                changed.append(time.perf_counter())

            table.set_rows = recording_set_rows
            for text in TYPED:
                await pilot.press("escape")  # clears the search box
                await pilot.pause()
                for key in [*text, "backspace", "backspace", *text[-2:]]:
                    changed.clear()
                    probe.arm(lambda: bool(changed))
                    t = time.perf_counter()
                    await pilot.press(key)
                    out["keystroke"].append((await _wait_for(probe, pilot) - t) * 1000)

            for _ in range(10):
                await pilot.press("escape", *"japan")
                await pilot.pause()
                assert table.highlighted.own_plan_count == BIG
                listed = table.highlighted.plan_count  # with the Asia and global plans covering Japan

                def plans_shown() -> bool:
                    shown = app.screen
                    return isinstance(shown, PlansScreen) and len(shown.query_one("#plans").rows) == listed

                probe.arm(plans_shown)
                t = time.perf_counter()
                await pilot.press("enter")
                out["open"].append((await _wait_for(probe, pilot) - t) * 1000)
                await pilot.press("escape")
                await pilot.pause()
    return out


# ---------------------------------------------------------------- start-up, one process per run


def _bare_app():
    from textual.app import App
    from textual.containers import Vertical
    from textual.widgets import Footer, Input, Static

    from esim_tui.ui.paths import stylesheets
    from esim_tui.ui.themes import THEMES
    from esim_tui.ui.widgets.offer_table import Column, OfferTable
    from esim_tui.ui.widgets.top_bar import TopBar

    columns = (Column("Destination", 30, flex=True), Column("Code", 9), Column("Plans", 6, "right"), Column("From", 12, "right"))

    class Bare(App):
        CSS_PATH = stylesheets()

        def __init__(self) -> None:
            super().__init__()
            for theme in THEMES:  # the stylesheets use their variables
                self.register_theme(theme)
            self.theme = THEMES[0].name

        def compose(self):
            yield TopBar("Sell")
            yield Input(placeholder="Where is the customer going?", id="search")
            with Vertical(id="destinations-box"):
                yield OfferTable(columns, lambda row: (), empty_text="", id="destinations")
                yield Static("", id="catalogue-message")
            with Vertical(id="status-panel"):
                yield Static("Orders in play", classes="panel-title")
                yield OfferTable(columns, lambda row: (), empty_text="No orders in play.", id="orders-in-play")
            yield Footer()

    return Bare()


def _startup_child(kind: str, payload_file: str, folder: str) -> None:
    """In a fresh process: start the app and exit once it is interactive (and, for esim-tui, once the
    providers' catalogue is loaded too). Prints, as JSON, the wall-clock time (time.time()) each phase
    ended: imports, first interactive paint, catalogue loaded from the providers.

    ``app`` starts as ``esim-tui`` does (``Boot``), with ``folder`` as its data folder: the destination
    list saved there by the previous run is painted first. ``cold`` is the same with nothing saved (the
    first start on a machine, or after the file was lost)."""
    marks: dict[str, float] = {}
    if kind == "bare":
        app = _bare_app()
        marks["imported"] = time.time()
        ready = lambda: True  # noqa: E731 - the first paint
        probe = PaintProbe(app, clock=time.time, then=app.exit)
        probe.arm(ready)
        app.run(headless=True, size=SIZE)
        marks["painted"] = probe.painted_at
        print(json.dumps(marks))
        return
    from esim_tui.config_file import FirstLook
    from esim_tui.ui.app import Boot, EsimApp, keep_out_of_collections  # what `esim-tui` imports first

    marks["imported"] = time.time()
    data = Path(folder)

    def build():  # in the boot thread, after the first paint, as cli._services does
        from esim_tui.config import load_settings
        from esim_tui.services.ordering import Sales
        from esim_tui.store.orders import OrderStore
        from esim_tui.ui.context import AppContext

        load_catalogue = Sales.load_catalogue

        async def timed_load(self, *, refresh: bool = False):
            load = await load_catalogue(self, refresh=refresh)
            marks["catalogue"] = time.time()
            return load

        Sales.load_catalogue = timed_load
        settings = load_settings(None, environ={}, db=data / "orders.json")
        store = OrderStore.open(data / "orders.json")
        payload = json.loads(Path(payload_file).read_bytes())  # the providers' answer, as it arrives
        return AppContext(settings=settings, sales=Sales(fake_providers(payload), store), store=store, on_sandbox=False)

    first_look = FirstLook(order_file=data / "orders.json", providers=("esimgo", "octopus"), on_sandbox=False)
    keep_out_of_collections()  # as run_app does before running the app
    app = EsimApp(boot=Boot(first_look, build), follow=False)

    def interactive() -> bool:
        screen = app.catalogue_screen
        return app.screen is screen and bool(screen.table.rows)

    def done() -> None:
        if app.catalogue is not None:
            app.exit()

    probe = PaintProbe(app, clock=time.time, then=done)
    probe.arm(interactive)
    original_save = app._save_catalogue

    async def saved_then_done(catalogue) -> None:
        await original_save(catalogue)  # the next run paints what this one saves
        if probe.painted_at is not None:
            app.exit()

    app._save_catalogue = saved_then_done
    app.run(headless=True, size=SIZE)
    if app.built is not None:
        app.built.close()
    if probe.painted_at is not None:
        marks["painted"] = probe.painted_at
    print(json.dumps(marks))


def measure_startup(runs: int = STARTUP_RUNS) -> dict[str, list[dict[str, float]]]:
    """Per run and app: seconds from spawning the process to the end of each phase (see _startup_child),
    bare Textual, esim-tui with its saved destination list and esim-tui with none, in turn, after one
    untimed run of each (which also saves the list the next ``app`` run paints).

    The providers' answer is written to a file beforehand; the child reads it inside the timed window,
    as it would receive it. The children run from compiled bytecode, as an installed app does: a
    machine with PYTHONDONTWRITEBYTECODE set would otherwise recompile esim-tui's modules (not
    Textual's, installed compiled) at every start. The bytecode goes to a temporary folder."""
    out: dict[str, list[dict[str, float]]] = {"bare": [], "app": [], "cold": []}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        payload_file = Path(folder) / "plans.json"
        payload_file.write_text(json.dumps(plan_payload()))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "bytecode")
        kept = Path(folder) / "kept"  # the app's data folder, kept from run to run
        for n in range(runs + 1):
            for kind in ("bare", "app", "cold"):
                data = kept if kind == "app" else Path(tempfile.mkdtemp(dir=folder))
                start = time.time()
                done = subprocess.run(
                    [sys.executable, "-m", "tests.benchmarks.bench_counter", "--startup-child", kind, str(payload_file), str(data)],
                    capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2], env=env,
                )
                lines = done.stdout.strip().splitlines()
                marks = json.loads(lines[-1]) if done.returncode == 0 and lines else {}
                if "painted" not in marks:
                    raise RuntimeError(f"the {kind} app did not start: {done.stderr[-2000:]}")
                if n:  # the first run of each only writes the bytecode (and the saved list)
                    out[kind].append({phase: at - start for phase, at in marks.items()})
    return out


# ---------------------------------------------------------------- the figures


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run() -> list[str]:
    lines: list[str] = []
    samples = asyncio.run(measure_screens(plan_payload()))
    keys = samples["keystroke"]
    median = statistics.median(keys)
    lines.append(
        f"counter: search keystroke, {TOTAL_PLANS:,} plans: median {median:.1f} ms, p95 {_p95(keys):.1f} ms, "
        f"max {max(keys):.1f} ms (n={len(keys)})  target <= {KEYSTROKE_TARGET_MS:g} ms  {_verdict(median <= KEYSTROKE_TARGET_MS)}"
    )
    opens = samples["open"]
    median = statistics.median(opens)
    lines.append(
        f"counter: open a destination with {BIG} plans: median {median:.1f} ms, max {max(opens):.1f} ms "
        f"(n={len(opens)})  target <= {OPEN_TARGET_MS:g} ms  {_verdict(median <= OPEN_TARGET_MS)}"
    )
    startup = measure_startup()

    def median_of(kind: str, phase: str) -> float:
        return statistics.median(run[phase] for run in startup[kind])

    bare, app, cold = median_of("bare", "painted"), median_of("app", "painted"), median_of("cold", "painted")
    ratio = app / bare
    lines.append(
        f"counter: start-up to the first interactive paint: esim-tui {app:.2f} s (the {TOTAL_PLANS:,}-plan catalogue's "
        f"destinations as saved at the last load, indexed and searchable), bare Textual app with the same widgets {bare:.2f} s: "
        f"{ratio:.2f}x (medians of {len(startup['app'])} runs each)  target <= {STARTUP_RATIO_TARGET:g}x  {_verdict(ratio <= STARTUP_RATIO_TARGET)}"
    )
    lines.append(
        f"counter: start-up phases (from spawning the process): esim-tui imports done {median_of('app', 'imported'):.2f} s, "
        f"interactive {app:.2f} s, plans of all {TOTAL_PLANS:,} loaded from the providers and indexed "
        f"{median_of('app', 'catalogue'):.2f} s; bare Textual imports done {median_of('bare', 'imported'):.2f} s, painted {bare:.2f} s"
    )
    lines.append(
        f"counter: first start with nothing saved (interactive once the providers answered): {cold:.2f} s, "
        f"{cold / bare:.2f}x the bare app (for information)"
    )
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--startup-child":
        _startup_child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print("\n".join(run()))
