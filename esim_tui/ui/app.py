"""The esim-tui Textual app: the counter's sale flow and the live status of every order in play."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Iterable
from functools import partial

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker

from esim_tui.config import Settings
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import Money, format_amount
from esim_tui.domain.orders import Order, OrderStatus
from esim_tui.domain.plans import Plan, Quote
from esim_tui.services.catalogue import Catalogue, DestinationOffer
from esim_tui.services.following import Follower
from esim_tui.services.ordering import CatalogueLoad
from esim_tui.services.wording import customer
from esim_tui.ui.context import AppContext, build_context
from esim_tui.ui.messages import CatalogueFailed, CatalogueLoaded
from esim_tui.ui.paths import stylesheets
from esim_tui.ui.screens.base import report_worker_failure
from esim_tui.ui.screens.catalogue import CatalogueScreen
from esim_tui.ui.themes import THEMES

# The other screens are imported where they are first opened: the counter's start only needs the catalogue.

POLL_TICK = 1.0  # seconds between looks at which order is due; each provider's schedule decides the rest


class EsimApp(App):
    TITLE = "esim-tui"
    CSS_PATH = stylesheets()
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "keys", "Keys", id="app.keys"),
        Binding("f2", "switch_mode('orders')", "Orders", id="app.orders"),
        Binding("f3", "switch_mode('sell')", "Sell", id="app.sell"),
    ]
    DEFAULT_MODE = "sell"

    #: The providers' balances for the header ("" until known); ``balance_low`` when one is below the threshold.
    balance_line: reactive[str] = reactive("")
    balance_low: reactive[bool] = reactive(False)

    def __init__(self, ctx: AppContext, *, follow: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.sales = ctx.sales
        self.on_sandbox = ctx.on_sandbox
        self.follow = follow
        self.follower = Follower(ctx.sales, ctx.now)
        self.catalogue: Catalogue | None = None
        self.orders: dict[str, Order] = {}
        self.started = asyncio.Event()  # set when earlier sales are settled and the catalogue answered
        self.animation_level = "none"
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = ctx.settings.ui.theme
        if ctx.settings.ui.keymap:
            self.set_keymap(ctx.settings.ui.keymap)
        # One provider, so the palette lists commands in a fixed order (providers race otherwise).
        self.COMMANDS = {SellCommands}
        self.catalogue_screen = CatalogueScreen()
        self.add_mode("sell", lambda: self.catalogue_screen)
        self.add_mode("orders", _orders_screen)
        #: (order, error) each time an order changes: the order list and details subscribe.
        self.order_updates: Signal[tuple[Order, str | None]] = Signal(self, "order-updates")

    # ------------------------------------------------------------ start and stop

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode" and parameters and parameters[0] == self.current_mode:
            return False  # hides F2 in Orders and F3 in Sell
        return True

    def on_mount(self) -> None:
        self.sub_title = "SANDBOX" if self.on_sandbox else ""
        self.startup()
        if self.follow:
            self.set_timer(POLL_TICK, self._tick)

    async def on_unmount(self) -> None:
        await self.ctx.aclose()

    @work(exclusive=True, group="startup", exit_on_error=False, description="Settling earlier sales, loading the catalogue")
    async def startup(self) -> None:
        # The catalogue is fetched while earlier sales are settled; it is shown only after them.
        catalogue = asyncio.ensure_future(self.sales.load_catalogue(refresh=False))
        try:
            # Before new sales: settle every sale whose outcome we never learnt.
            for order in await self.sales.reconcile():
                self.order_changed(order)
            for order in await self.sales.in_play():
                self.orders[order.id] = order
                self.follower.track(order)
        except BaseException:
            catalogue.cancel()
            self.started.set()
            raise
        self.catalogue_screen.query_one("#status-panel").show(list(self.orders.values()))
        unseen = [o for o in self.orders.values() if o.status is OrderStatus.DELIVERED and o.activation_code and o.shown_at is None and not o.is_installed]
        if unseen:
            self.notify(f"{len(unseen)} delivered eSIM(s) were never shown; showing the newest now.", severity="warning", timeout=10, markup=False)
            from esim_tui.ui.screens.delivery import DeliveryScreen

            self.push_screen(DeliveryScreen(max(unseen, key=lambda o: o.created_at)))
        try:
            await self._load_catalogue(catalogue)
            await self._refresh_balances()
        finally:
            self.started.set()

    def refresh_balances(self) -> None:
        self.run_worker(self._refresh_balances(), group="balances", exclusive=True, exit_on_error=False)

    async def _refresh_balances(self) -> None:
        threshold = self.ctx.settings.balance.warn_below
        parts, low = [], False
        for name, balance in (await self.sales.balances()).items():
            if isinstance(balance, Money):
                low = low or balance.amount < threshold
                parts.append(f"{name.display} {format_amount(balance.amount)} {balance.currency}")
            elif isinstance(balance, EsimTuiError):
                parts.append(f"{name.display} balance unknown")
        self.balance_low = low
        self.balance_line = ("LOW BALANCE · " if low else "") + " · ".join(parts)

    def load_catalogue(self, refresh: bool = False) -> None:
        self.run_worker(self._load_catalogue(self.sales.load_catalogue(refresh=refresh)), group="catalogue", exclusive=True, exit_on_error=False)

    async def _load_catalogue(self, loading: Awaitable[CatalogueLoad]) -> None:
        try:
            load = await loading
        except EsimTuiError as exc:
            self.catalogue_screen.show_failure(CatalogueFailed(exc.message))
            return
        self.catalogue = load.catalogue
        self.catalogue_screen.show_catalogue(CatalogueLoaded(load))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------ the sale flow

    def open_plans(self, offer: DestinationOffer) -> None:
        from esim_tui.ui.screens.plans import PlansScreen

        self.push_screen(PlansScreen(offer))

    def confirm_plan(self, plan: Plan, *, top_up_of: Order | None = None, follows: Order | None = None) -> None:
        from esim_tui.ui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(plan, self.sales.mint_reference(), top_up_of=top_up_of, follows=follows))

    def place_order(
        self, plan: Plan, quote: Quote | None, label: str, email: str, reference: str, *, top_up_of: Order | None = None, follows: Order | None = None
    ) -> None:
        self._place(plan, quote, label, email, reference, top_up_of, follows)

    @work(group="sale", exit_on_error=False, description="Placing an order")
    async def _place(
        self, plan: Plan, quote: Quote | None, label: str, email: str, reference: str, top_up_of: Order | None, follows: Order | None
    ) -> None:
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.order_detail import OrderDetailScreen

        try:
            order = await self.sales.open_sale(plan, quote, label, email, reference, top_up_of=top_up_of, follows=follows)
        except EsimTuiError:
            self.back_to_start()
            raise
        order = await self.sales.place(order)
        self.order_changed(order)
        self.refresh_balances()
        parent = top_up_of or follows
        if parent is not None and order.status in (OrderStatus.DELIVERED, OrderStatus.PENDING):
            self.order_changed(await self.sales.note_top_up(self.orders.get(parent.id, parent), order))
        if top_up_of is not None:
            self.back_to(OrderDetailScreen)  # the desk sees the new bundle where it started
            if isinstance(self.screen, OrderDetailScreen):
                self.screen.action_refresh()  # ask now, so the new bundle is listed
            if order.status is OrderStatus.DELIVERED:
                self.notify(f"{plan.name} was added to the eSIM of {customer(order)}.", title="Topped up", timeout=10, markup=False)
            elif order.status is not OrderStatus.PENDING:
                self.open_order(order)
            return
        self.back_to_start()
        if follows is None and order.status is not OrderStatus.FAILED:
            self.catalogue_screen.action_clear()  # the counter is ready for the next customer
        if order.status is OrderStatus.DELIVERED and order.activation_code:
            self.push_screen(DeliveryScreen(order))
        elif order.status is OrderStatus.PENDING:
            self.notify(
                f"We'll have the eSIM for {customer(order)} shortly. esim-tui keeps checking; start the next sale meanwhile.",
                title="Being prepared",
                timeout=10,
                markup=False,
            )
        else:
            self.open_order(order)

    def order_shown(self, order: Order) -> None:
        self.run_worker(self._mark_shown(order), group="shown", exit_on_error=False)

    async def _mark_shown(self, order: Order) -> None:
        self.order_changed(await self.sales.mark_shown(order))

    def back_to_catalogue(self) -> None:
        if self.current_mode != "sell":
            self.switch_mode("sell")
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def back_to(self, kind: type[Screen]) -> None:
        """Pop screens until one of ``kind`` is on top (or the first screen of the mode)."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, kind):
            self.pop_screen()

    def back_to_start(self) -> None:
        """Back to the first screen of the current mode (the catalogue, or the order list)."""
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def new_sale_for(self, destination_key: str, *, follows: Order | None = None) -> None:
        from esim_tui.ui.screens.plans import PlansScreen

        self.back_to_catalogue()
        offer = self.catalogue.offer(destination_key) if self.catalogue else None
        if offer is None:
            self.notify("That destination is not in the catalogue right now.", severity="warning", markup=False)
        else:
            self.push_screen(PlansScreen(offer, follows=follows))

    def open_order_detail(self, order: Order) -> None:
        from esim_tui.ui.screens.order_detail import OrderDetailScreen

        self.push_screen(OrderDetailScreen(self.orders.get(order.id, order)))

    def open_order(self, order: Order) -> None:
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.order_outcome import OrderOutcomeScreen

        order = self.orders.get(order.id, order)
        if order.status is OrderStatus.DELIVERED and not order.needs_attention and (order.activation_code or order.is_installed):
            if order.activation_status is None or order.activation_status.value != "EXPIRED":
                self.push_screen(DeliveryScreen(order))
                return
        alternatives: tuple[Plan, ...] = ()
        if order.status is OrderStatus.FAILED and order.failure and order.failure.is_user_fixable and self.catalogue:
            offer = self.catalogue.offer(order.plan.destination.key)
            alternatives = tuple(p for p in offer.plans if p.key != order.plan.key) if offer else ()
        self.push_screen(OrderOutcomeScreen(order, alternatives))

    def settle_by_hand(self, order: Order) -> None:
        """The desk decides a sale of unknown outcome; a code that came with it is handed over at once."""
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.order_outcome import OrderOutcomeScreen
        from esim_tui.ui.screens.settle import SettleScreen

        def settled(result: Order | None) -> None:
            if result is None:
                return
            if isinstance(self.screen, OrderOutcomeScreen) and self.screen.order.id == result.id:
                self.pop_screen()  # the outcome it showed is decided: show the new one
                self.open_order(result)
            elif result.activation_code and not result.is_installed:
                self.push_screen(DeliveryScreen(result))

        self.push_screen(SettleScreen(self.orders.get(order.id, order)), settled)

    # ------------------------------------------------------------ following orders in play

    def order_changed(self, order: Order, error: str | None = None) -> None:
        before = self.orders.get(order.id)
        self.orders[order.id] = order
        self.follower.track(order)
        self.catalogue_screen.query_one("#status-panel").update_order(order, error)
        self.order_updates.publish((order, error))
        if before is not None and before.status is OrderStatus.PENDING and order.status is OrderStatus.DELIVERED:
            self.notify(f"The eSIM for {customer(order)} is ready. Select it under Orders in play and press Enter.", title="Delivered", timeout=15, markup=False)
        elif before is not None and before.status is not OrderStatus.FAILED and order.status is OrderStatus.FAILED:
            self.notify(f"The order for {customer(order)} failed: {order.failure.reason if order.failure else ''}", severity="error", timeout=15, markup=False)

    def _tick(self) -> None:
        due = [self.orders[i] for i in self.follower.due() if i in self.orders]
        if due:
            self.run_worker(self._poll(due), group="poll", exit_on_error=False)
        else:
            self.set_timer(POLL_TICK, self._tick)

    async def _poll(self, due: list[Order]) -> None:
        try:
            for order in due:
                result = await self.follower.poll(order)
                if result.changed or result.error:
                    self.order_changed(result.order, result.error.message if result.error else None)
        finally:
            self.set_timer(POLL_TICK, self._tick)  # re-armed only now: polls never overlap

    def check_now(self, order: Order) -> None:
        self.follower.track(order, soon=True)

    # ------------------------------------------------------------ keys and palette

    def action_keys(self) -> None:
        if self.screen.query("KeyPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # A screenshot would write activation codes to an unprotected file.
            if "screenshot" not in command.title.lower():
                yield command

    def target_order(self) -> Order | None:
        """The order a palette command acts on: the one on screen, else the one highlighted in the panel."""
        on_screen = getattr(self.screen, "order", None)
        if isinstance(on_screen, Order):
            return self.orders.get(on_screen.id, on_screen)
        row = self.catalogue_screen.query_one("#orders-in-play").highlighted
        return self.orders.get(row.id, row) if isinstance(row, Order) else None

    async def train(self, what: str, amount: int = 0) -> None:
        training = self.ctx.training
        if training is None:
            return
        order = self.target_order()
        try:
            if what == "time":
                await training.advance(amount)
                self.notify(f"Time moves on by {_duration(amount)}.", title="Training", markup=False)
                for o in self.orders.values():
                    self.check_now(o)
                return
            if order is None or not order.iccid:
                self.notify("Choose a delivered order first (in the panel or on screen).", severity="warning", markup=False)
                return
            if what == "install":
                await training.install(order.iccid)
                self.notify(f"The customer installed the eSIM ({customer(order)}).", title="Training", markup=False)
            else:
                await training.use_data(order.iccid, amount)
                self.notify(f"The customer used {amount // 1_000_000} MB ({customer(order)}).", title="Training", markup=False)
            self.check_now(order)
        except EsimTuiError as exc:
            self.notify(exc.message, severity="error", markup=False)


def _duration(seconds: int) -> str:
    return {3600: "an hour", 86400: "a day", 7 * 86400: "a week"}.get(seconds, f"{seconds} s")


class SellCommands(Provider):
    """Commands that fit the current screen, the sandbox's training controls, then Textual's own."""

    def _commands(self) -> list[tuple[str, object, str]]:
        app: EsimApp = self.app  # type: ignore[assignment]
        screen = app.screen
        commands: list[tuple[str, object, str]] = [
            ("Refresh the catalogue", partial(app.load_catalogue, True), "Ask the providers for their plans again"),
            ("Theme: esim dark", partial(setattr, app, "theme", "esim-dark"), "The default dark theme"),
            ("Theme: esim light", partial(setattr, app, "theme", "esim-light"), "A light theme for bright shops"),
            ("Theme: high contrast", partial(setattr, app, "theme", "esim-high-contrast"), "Black, white and yellow"),
        ]
        commands += getattr(screen, "palette_commands", list)()
        if app.on_sandbox and app.ctx.training is not None:
            run = lambda *a: app.run_worker(app.train(*a), group="training", exit_on_error=False)  # noqa: E731
            commands += [
                ("Training: the customer installs this eSIM", partial(run, "install"), "Sandbox: as if the QR was scanned"),
                ("Training: the customer uses 250 MB", partial(run, "usage", 250_000_000), "Sandbox: data used on the eSIM"),
                ("Training: the customer uses 1 GB", partial(run, "usage", 1_000_000_000), "Sandbox: data used on the eSIM"),
                ("Training: an hour passes", partial(run, "time", 3600), "Sandbox: simulated time moves on"),
                ("Training: a day passes", partial(run, "time", 86400), "Sandbox: simulated time moves on"),
                ("Training: a week passes", partial(run, "time", 7 * 86400), "Sandbox: simulated time moves on"),
            ]
        commands += [(c.title, c.callback, c.help) for c in app.get_system_commands(screen)]
        return commands

    async def discover(self) -> Hits:
        from textual.command import DiscoveryHit

        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


def _orders_screen() -> Screen:
    from esim_tui.ui.screens.orders import OrdersScreen

    return OrdersScreen()


def keep_out_of_collections() -> None:
    """Objects alive at start (modules, classes, settings) live as long as the app: freezing them
    spares every garbage collection a scan of them. Building a big catalogue runs many collections."""
    gc.freeze()


def run_app(settings: Settings, *, force_sandbox: bool = False) -> int:
    ctx = build_context(settings, force_sandbox=force_sandbox)
    keep_out_of_collections()
    try:
        EsimApp(ctx).run()
    finally:
        ctx.close()
    return 0
