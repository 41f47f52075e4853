"""The esim-tui Textual app: the counter's sale flow and the live status of every order in play."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker

from esim_tui.config_file import ConfigError, FirstLook
from esim_tui.domain.errors import EsimTuiError
from esim_tui.services.catalogue_cache import catalogue_file, read_index, save_index
from esim_tui.ui.paths import stylesheets
from esim_tui.ui.screens.base import report_worker_failure
from esim_tui.ui.screens.catalogue import CatalogueScreen
from esim_tui.ui.themes import THEMES

if TYPE_CHECKING:
    from esim_tui.domain.orders import Order
    from esim_tui.domain.plans import Plan, Quote
    from esim_tui.services.catalogue import Catalogue
    from esim_tui.services.catalogue_index import CatalogueIndex as CatalogueIndexT
    from esim_tui.services.ordering import CatalogueLoad, Sales
    from esim_tui.ui.context import AppContext
    from esim_tui.ui.screens.quit_confirm import InFlight

log = logging.getLogger(__name__)

# What the first paint needs is imported above; pydantic, httpx, the providers, the store and the other
# screens are imported after it (``Boot``) or where they are first opened.

POLL_TICK = 1.0  # seconds between looks at which order is due; each provider's schedule decides the rest
KEY_TICK = 0.005  # seconds between looks whether the screen is ready for a key typed ahead
KEY_PATIENCE = 1.0  # seconds a key typed ahead waits for its screen once first in line, then goes to the one there


class EsimApp(App):
    TITLE = "esim-tui"
    CSS_PATH = stylesheets()
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "keys", "Keys", id="app.keys"),
        Binding("f2", "switch_mode('orders')", "Orders", id="app.orders"),
        # F2 within Orders (from an order's detail): out of the footer there, where Esc goes back.
        Binding("f2", "orders_afresh", "The whole order list", show=False, id="app.orders_again"),
        Binding("f3", "switch_mode('sell')", "Sell", id="app.sell"),
    ]
    DEFAULT_MODE = "sell"

    #: The providers' balances for the header ("" until known); ``balance_low`` when one is below the threshold.
    balance_line: reactive[str] = reactive("")
    balance_low: reactive[bool] = reactive(False)

    def __init__(self, ctx: AppContext | None = None, *, follow: bool = True, boot: Boot | None = None) -> None:
        """Either on services already built (``ctx``: tests, scripts), or the command line's start
        (``boot``): the first screen is painted from ``boot.first_look`` and the saved destination
        list, and the services are built in a thread after that paint."""
        super().__init__()
        if (ctx is None) == (boot is None):
            raise ValueError("EsimApp needs either ctx or boot")
        self.ctx: AppContext | None = None
        self.sales: Sales | None = None
        self.follower = None
        self.boot = boot
        self.built: AppContext | None = None  # what the boot thread built, even if the app quit meanwhile
        self.fatal: str | None = None  # why the services could not start (printed after the app exits)
        self.on_sandbox = ctx.on_sandbox if ctx is not None else boot.first_look.on_sandbox
        self.follow = follow
        self.catalogue: Catalogue | None = None
        self.saved_catalogue = boot.saved_catalogue() if boot is not None else None
        self._open_when_loaded: str | None = None  # a destination chosen before its plans arrived
        self.orders: dict[str, Order] = {}
        self.keys_ahead: list[events.Key] = []  # keys typed ahead of the screen, in order
        self._was_ready = False  # at the last look
        self._first_in_line_since = 0.0  # when the first of them started waiting (event-loop time)
        self._key_on_its_way: events.Key | None = None  # the last key given to the screen, until it lands
        self.being_placed: dict[str, str] = {}  # client reference -> "an order for <customer> with <provider>", while placed
        self.started = asyncio.Event()  # set when earlier sales are settled and the catalogue answered
        self.animation_level = "none"
        for theme in THEMES:
            self.register_theme(theme)
        # One provider, so the palette lists commands in a fixed order (providers race otherwise).
        self.COMMANDS = {SellCommands}
        self.catalogue_screen = CatalogueScreen(saved=self.saved_catalogue)
        self.add_mode("sell", lambda: self.catalogue_screen)
        self.add_mode("orders", _orders_screen)
        #: (order, error) each time an order changes: the order list and details subscribe.
        self.order_updates: Signal[tuple[Order, str | None]] = Signal(self, "order-updates")
        if ctx is not None:
            self._attach(ctx)
        else:
            self._look(boot.first_look.theme, boot.first_look.keymap)

    def _look(self, theme: str, keymap: dict[str, str]) -> None:
        self.theme = theme if any(t.name == theme for t in THEMES) else THEMES[0].name
        if "app.orders" in keymap:  # one key for Orders, from Sell and from within Orders
            keymap = {"app.orders_again": keymap["app.orders"], **keymap}
        if keymap:
            self.set_keymap(keymap)

    def _attach(self, ctx: AppContext) -> None:
        from esim_tui.services.following import Follower

        self.ctx = ctx
        self.sales = ctx.sales
        self.on_sandbox = ctx.on_sandbox
        self.follower = Follower(ctx.sales, ctx.now)
        self._look(ctx.settings.ui.theme, ctx.settings.ui.keymap)

    # ------------------------------------------------------------ start and stop

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode" and parameters and parameters[0] == self.current_mode:
            return False  # hides F2 in Orders and F3 in Sell
        if action == "orders_afresh":  # F2 over the order list (a detail, a dialog), not while a top-up is placed
            return self.current_mode == "orders" and len(self.screen_stack) > 1 and not getattr(self.screen, "placing", False)
        if action == "switch_mode" and self.ctx is None:
            return None  # the order records are not open yet: F2 shows, greyed, for that moment
        return True

    async def action_switch_mode(self, mode: str) -> None:
        """F2 and F3 land on the mode's first screen with its search ready: a screen left open there
        (a QR shown an hour ago, an order since changed) would be out of date. F2 opens the whole
        order list at its top with an empty search: the last search was another customer's."""
        if mode != self.current_mode:
            await self.switch_mode(mode)
        self.back_to_start()
        if hasattr(self.screen, "start_afresh"):
            self.screen.start_afresh()
        for search in self.screen.query("#search, #order-search"):
            search.focus()

    async def action_orders_afresh(self) -> None:
        await self.action_switch_mode("orders")

    def on_mount(self) -> None:
        self.sub_title = "SANDBOX" if self.on_sandbox else ""
        if self.ctx is not None:
            self.startup()
            self._follow()
            return
        # After the first paint, so the heavy imports do not hold it back.
        self.call_after_refresh(lambda: self.run_worker(self._boot(), group="startup", exclusive=True, exit_on_error=False))

    def _follow(self) -> None:
        if self.follow:
            self.set_timer(POLL_TICK, self._tick)

    async def _boot(self) -> None:
        def build() -> AppContext:
            self.built = self.boot.build()  # kept even if the app quits meanwhile: run_app closes it
            return self.built

        try:
            await asyncio.to_thread(build)
        except Exception as exc:  # noqa: BLE001 - without its services the app cannot go on: say why and stop
            if isinstance(exc, EsimTuiError):
                self.fatal = exc.message
            else:
                log.exception("The services could not start")
                self.fatal = "esim-tui could not start because of an unexpected error; the log beside the order file says more."
            self.started.set()
            self.exit(return_code=2 if isinstance(exc, ConfigError) else 1)
            return
        keep_out_of_collections()  # the modules and objects the boot brought in live as long as the app
        self._attach(self.built)
        self.refresh_bindings()
        self._follow()
        await self._startup()

    async def on_unmount(self) -> None:
        if self.ctx is not None:
            await self.ctx.aclose()

    @work(exclusive=True, group="startup", exit_on_error=False, description="Settling earlier sales, loading the catalogue")
    async def startup(self) -> None:
        await self._startup()

    async def _startup(self) -> None:
        from esim_tui.domain.orders import OrderStatus

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
            said = "A delivered eSIM was never shown; showing it now." if len(unseen) == 1 else f"{len(unseen)} delivered eSIMs were never shown; showing the newest now."
            self.notify(said, severity="warning", timeout=10, markup=False)
            from esim_tui.ui.screens.delivery import DeliveryScreen

            self._open_when_loaded = None  # the customer waiting for that code comes first
            self.catalogue_screen.typed_ahead = None
            self.push_screen(DeliveryScreen(max(unseen, key=lambda o: o.created_at)))
        try:
            await self._load_catalogue(catalogue)
            await self._refresh_balances()
        finally:
            self.started.set()

    def refresh_balances(self) -> None:
        self.run_worker(self._refresh_balances(), group="balances", exclusive=True, exit_on_error=False)

    async def _refresh_balances(self) -> None:
        from esim_tui.domain.money import Money, format_money

        threshold = self.ctx.settings.balance.warn_below
        parts, low = [], False
        for name, balance in (await self.sales.balances()).items():
            if isinstance(balance, Money):
                low = low or balance.amount < threshold
                parts.append(f"{name.display} {format_money(balance)}")
            elif isinstance(balance, EsimTuiError):
                parts.append(f"{name.display} balance unknown")
        self.balance_low = low
        self.balance_line = ("LOW BALANCE · " if low else "") + " · ".join(parts)

    def load_catalogue(self, refresh: bool = False) -> None:
        if self.sales is None:
            self.notify("Still starting: the catalogue is on its way.", markup=False)
            return
        self.run_worker(self._load_catalogue(self.sales.load_catalogue(refresh=refresh)), group="catalogue", exclusive=True, exit_on_error=False)

    async def _load_catalogue(self, loading: Awaitable[CatalogueLoad]) -> None:
        try:
            load = await loading
        except EsimTuiError as exc:
            self._open_when_loaded = None  # a destination chosen before cannot open; the screen says why
            self.catalogue_screen.show_failure(exc.message)
            return
        self.catalogue = load.catalogue
        self.catalogue_screen.show_catalogue(load)
        typed_ahead = self.catalogue_screen.take_typed_ahead()
        if self._open_when_loaded is not None or typed_ahead is not None:
            key, self._open_when_loaded = self._open_when_loaded or typed_ahead, None
            if self.screen is self.catalogue_screen:
                self.open_plans(key)
        if self.boot is not None and not load.errors:
            await self._save_catalogue(load.catalogue)

    async def _save_catalogue(self, catalogue: Catalogue) -> None:
        try:
            await asyncio.to_thread(
                save_index, self.boot.catalogue_file, catalogue.index, [p.value for p in self.sales.providers], datetime.now(UTC)
            )
        except OSError as exc:  # only the next start's first paint is slower
            log.warning("The catalogue could not be saved for the next start: %s", exc)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------ the sale flow

    def open_plans(self, destination_key: str) -> None:
        """The destination's plans; chosen from the saved list before the plans arrived, they open
        as soon as the catalogue is loaded."""
        from esim_tui.ui.screens.plans import PlansScreen

        offer = self.catalogue.offer(destination_key) if self.catalogue is not None else None
        if offer is not None:
            self.push_screen(PlansScreen(offer))
        elif self.catalogue is None:
            self._open_when_loaded = destination_key
            self.notify("Loading the plans from the providers…", timeout=3, markup=False)
        else:
            self.notify("That destination is not in the catalogue any more.", severity="warning", markup=False)

    def confirm_plan(self, plan: Plan, *, top_up_of: Order | None = None, follows: Order | None = None) -> None:
        from esim_tui.ui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(plan, self.sales.mint_reference(), top_up_of=top_up_of, follows=follows))

    def place_order(
        self, plan: Plan, quote: Quote | None, label: str, email: str, reference: str, *, top_up_of: Order | None = None, follows: Order | None = None
    ) -> None:
        from esim_tui.services.wording import customer

        parent = top_up_of or follows
        who = label or (customer(parent) if parent is not None else f"reference {reference}")
        self.being_placed[reference] = f"Placing an order for {who} with {plan.provider.display}."
        self._place(plan, quote, label, email, reference, top_up_of, follows)

    @work(group="sale", exit_on_error=False, description="Placing an order")
    async def _place(
        self, plan: Plan, quote: Quote | None, label: str, email: str, reference: str, top_up_of: Order | None, follows: Order | None
    ) -> None:
        from esim_tui.domain.orders import OrderStatus
        from esim_tui.services.wording import customer
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.order_detail import OrderDetailScreen

        try:
            order = await self.sales.open_sale(plan, quote, label, email, reference, top_up_of=top_up_of, follows=follows)
        except EsimTuiError:
            self.being_placed.pop(reference, None)
            self.back_to_start()
            raise
        try:
            order = await self.sales.place(order)
        finally:
            self.being_placed.pop(reference, None)
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
        self.run_worker(self._noted(self.sales.mark_shown(order)), group="shown", exit_on_error=False)

    def note_event(self, order: Order, event: str, detail: str = "") -> None:
        """The agent did ``event`` with the order (copied its code, exported it): on its timeline. An app
        worker, so a dialog that closes at once does not cancel it."""
        self.run_worker(self._noted(self.sales.note(order, event, detail)), group="noted", exit_on_error=False)

    async def _noted(self, saving: Awaitable[Order]) -> None:
        self.order_changed(await saving)

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
        from esim_tui.domain.orders import OrderStatus
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.order_outcome import OrderOutcomeScreen

        order = self.orders.get(order.id, order)
        if order.status is OrderStatus.DELIVERED and not order.needs_attention and (order.activation_code or order.is_installed):
            from esim_tui.services.wording import past_validity

            # An expired eSIM (the provider says so, or its validity ran out): what happened, not its QR.
            if (order.activation_status is None or order.activation_status.value != "EXPIRED") and not past_validity(order, self.sales.now()):
                self.push_screen(DeliveryScreen(order))
                return
        alternatives: tuple[Plan, ...] = ()
        if order.status is OrderStatus.FAILED and order.failure and order.failure.is_user_fixable and self.catalogue:
            offer = self.catalogue.offer(order.plan.destination.key)
            alternatives = tuple(p for p in offer.plans if p.key != order.plan.key) if offer else ()
        self.push_screen(OrderOutcomeScreen(order, alternatives))

    def top_up(self, order: Order) -> None:
        """Top up the eSIM of ``order`` (its first sale): the plans that fit it, or, from a provider
        that sells no top-ups, a new eSIM for the same destination linked to the customer."""
        from esim_tui.ui.screens.top_up import TopUpScreen

        provider = self.sales.provider(order.provider)
        if provider.supports_top_up:
            self.push_screen(TopUpScreen(order))
        else:
            self.notify(
                f"{order.provider.display} sells no top-ups: choose a new eSIM for the same destination; it is linked to this customer.",
                title="Top up",
                markup=False,
            )
            self.new_sale_for(order.plan.destination.key, follows=order)

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
        from esim_tui.domain.orders import OrderStatus
        from esim_tui.services.wording import customer

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

    async def on_event(self, event: events.Event) -> None:
        """A key typed while the screen is still opening, or while the last key's effect (a screen
        pushed, an Enter on a list) is still on its way, waits for it: typed ahead, keys land in order
        on the screen they were meant for, none is lost."""
        if isinstance(event, events.Key) and not event.is_forwarded and (self.keys_ahead or not self._ready_for_keys()):
            self.keys_ahead.append(event)
            if len(self.keys_ahead) == 1:
                self._first_in_line_since = asyncio.get_running_loop().time()
                self.set_timer(KEY_TICK, self._type_ahead)
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self._give_key(event)
            return
        await super().on_event(event)

    async def _give_key(self, event: events.Key) -> None:
        self._key_on_its_way = event
        await super().on_event(event)
        if not event.is_forwarded and self._key_on_its_way is event:
            self._key_on_its_way = None  # a priority binding (Enter on the search, ctrl+q) took it here

    def _ready_for_keys(self) -> bool:
        """The screen is mounted, the focused widget, its containers and the screen have nothing left
        to do, and the last key has either been taken by a widget or reached the app, where the
        bindings of the screen and its widgets run (an Enter on a list opens the next screen there)."""
        try:
            screen = self.screen
        except ScreenStackError:  # starting or closing: no screen to take a key
            return False
        if not screen.is_mounted:
            return False
        node = screen.focused or screen
        while node is not None:
            if node.message_queue_size:
                return False
            if node is screen:
                break
            node = node.parent
        last = self._key_on_its_way
        # Textual (pinned) has no public word for a stopped message: a stopped key bubbles no further.
        return last is None or last._stop_propagation

    def on_key(self, event: events.Key) -> None:
        if event is self._key_on_its_way:
            self._key_on_its_way = None  # its bindings have run

    async def _type_ahead(self) -> None:
        """The keys typed ahead, each once its screen is ready (or after ``KEY_PATIENCE``, never lost).
        Ready on two looks in a row: a message being handled is in no queue for that moment."""
        loop = asyncio.get_running_loop()
        while self.keys_ahead:
            ready = self._ready_for_keys()
            if not (ready and self._was_ready) and loop.time() - self._first_in_line_since <= KEY_PATIENCE:
                break
            self._was_ready = False
            event = self.keys_ahead.pop(0)
            self._first_in_line_since = loop.time()
            await self._give_key(event)
        else:
            return
        self._was_ready = ready
        self.set_timer(KEY_TICK, self._type_ahead)

    async def action_quit(self) -> None:
        """ctrl+q: at once, unless an order is being placed, a price is awaited or a QR is on screen."""
        from esim_tui.ui.screens.quit_confirm import QuitScreen

        if isinstance(self.screen, QuitScreen):
            return  # already asking: y quits
        in_flight = self.in_flight()
        if not in_flight:
            self.exit()
            return
        self.push_screen(QuitScreen(in_flight), lambda anyway: self.exit() if anyway else None)

    def in_flight(self) -> list[InFlight]:
        """What quitting now would interrupt. Pending orders followed in the background are not in it:
        they are followed again at the next start."""
        from esim_tui.services.wording import customer
        from esim_tui.ui.screens.confirm import ConfirmScreen
        from esim_tui.ui.screens.delivery import DeliveryScreen
        from esim_tui.ui.screens.quit_confirm import NOTHING_BOUGHT, QR_AGAIN, SAFE_IN_JOURNAL, InFlight

        found = [InFlight(what, SAFE_IN_JOURNAL) for what in self.being_placed.values()]
        for screen in self.screen_stack:
            if isinstance(screen, ConfirmScreen) and screen.asking and not screen.placing:
                plan = screen.plan
                waiting = " A buy is waiting for it." if screen.buy_waiting else ""
                found.append(InFlight(f"Waiting for {plan.provider.display}'s price of {plan.name}.{waiting}", NOTHING_BOUGHT))
            elif isinstance(screen, DeliveryScreen) and screen.shows_qr:
                found.append(InFlight(f"The QR for {customer(screen.order)} is on screen.", QR_AGAIN))
        return found

    def action_keys(self) -> None:
        from esim_tui.ui.screens.keys import KeysScreen, keys_of

        self.push_screen(KeysScreen(keys_of(self.screen)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # A screenshot would write activation codes to an unprotected file; Textual's theme picker
            # offers themes without the colours our styles use (ours are listed by name instead).
            if "screenshot" not in command.title.lower() and command.title != "Theme":
                yield command

    def target_order(self) -> Order | None:
        """The order a palette command acts on: the one on screen, else the one highlighted in the panel."""
        from esim_tui.domain.orders import Order

        on_screen = getattr(self.screen, "order", None)
        if isinstance(on_screen, Order):
            return self.orders.get(on_screen.id, on_screen)
        row = self.catalogue_screen.query_one("#orders-in-play").highlighted  # kept by order id
        return self.orders.get(row.id, row) if isinstance(row, Order) else None

    async def train(self, what: str, amount: int = 0) -> None:
        from esim_tui.services.wording import customer

        training = self.ctx.training if self.ctx is not None else None
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
            if order is None and self.catalogue_screen.query_one("#orders-in-play").left:
                from esim_tui.ui.widgets.status_panel import ORDER_LEFT

                self.notify(ORDER_LEFT, severity="warning", markup=False)
                return
            if order is None or not order.iccid:
                self.notify("Choose a delivered order first (in the panel or on screen).", severity="warning", markup=False)
                return
            if what == "install":
                await training.install(order.iccid)
                self.notify(f"The customer installed the eSIM ({customer(order)}).", title="Training", markup=False)
            else:
                await training.use_data(order.iccid, amount)
                from esim_tui.domain.plans import format_megabytes

                self.notify(f"The customer used {format_megabytes(amount // 1_000_000)} ({customer(order)}).", title="Training", markup=False)
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
        commands: list[tuple[str, object, str]] = []
        if app.current_mode == "sell":
            commands.append(("Refresh the catalogue", partial(app.load_catalogue, True), "Ask the providers for their plans again"))
        commands += [
            ("Theme: esim dark", partial(setattr, app, "theme", "esim-dark"), "The default dark theme"),
            ("Theme: esim light", partial(setattr, app, "theme", "esim-light"), "A light theme for bright shops"),
            ("Theme: high contrast", partial(setattr, app, "theme", "esim-high-contrast"), "Black, white and yellow"),
        ]
        commands += getattr(screen, "palette_commands", list)()
        if app.on_sandbox and app.ctx is not None and app.ctx.training is not None:
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


@dataclass(frozen=True)
class Boot:
    """The command line's start: what the first screen needs, and how the services are built after it."""

    first_look: FirstLook
    build: Callable[[], AppContext]  # runs in a thread; raises ConfigError or another EsimTuiError

    @property
    def catalogue_file(self) -> Path | None:
        return catalogue_file(self.first_look.order_file) if self.first_look.order_file else None

    def saved_catalogue(self) -> tuple[CatalogueIndexT, datetime] | None:
        path = self.catalogue_file
        return read_index(path, self.first_look.providers) if path is not None else None


def run_app(boot: Boot) -> int:
    """Run the app; after it, close what the boot built and say why it could not start, if it could not."""
    keep_out_of_collections()
    app = EsimApp(boot=boot)
    try:
        app.run()
    finally:
        if app.built is not None:
            app.built.close()
    if app.fatal:
        print(f"esim-tui: {app.fatal}", file=sys.stderr)
    return app.return_code or 0
