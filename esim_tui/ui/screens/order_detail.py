"""Support, one order: its whole life, its plan and price, the provider's ids, the eSIM's state and
every bundle on it. From here the desk refreshes, shows the QR again, exports it, tops up or refunds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from esim_tui.ui.screens.base import SaysWhyNot, ShowsWorkerFailures
from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import BundleState, BundleUsage, Order, OrderKind, OrderStatus
from esim_tui.domain.plans import format_bytes
from esim_tui.services.export import why_not_exportable
from esim_tui.services.ordering import refund_owner
from esim_tui.services.support import timeline
from esim_tui.services.wording import activation_words, customer, order_state, plan_summary, short_time
from esim_tui.ui.screens.delivery import DeliveryScreen
from esim_tui.ui.screens.export import ExportScreen
from esim_tui.ui.screens.refund import RefundScreen
from esim_tui.ui.widgets.offer_table import Column, OfferTable
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp

BUNDLE_COLUMNS = (
    Column("Bundle", 26, flex=True),
    Column("State", 9),
    Column("Used", 9, "right"),
    Column("Left", 9, "right"),
    Column("Ends", 12),
)

TIMELINE_COLUMNS = (
    Column("When", 13),
    Column("What", 24),
    Column("Detail", 30, flex=True),
)

#: Bundles eSIM Go refunds: only those never started.
REFUNDABLE_STATES = (BundleState.PROCESSING, BundleState.QUEUED)


def _bundle_row(bundle: BundleUsage) -> tuple[str, ...]:
    used = bundle.used_bytes
    if bundle.unlimited:
        left = "unlimited"
    else:
        left = format_bytes(bundle.remaining_bytes) if bundle.remaining_bytes is not None else "—"
    return (bundle.bundle_name, bundle.state.value, format_bytes(used) if used is not None else "—", left, short_time(bundle.ends_at))


def _bundle_key(bundle: BundleUsage) -> object:
    """Which bundle it is, whatever its data: a refund acts on the bundle the desk highlighted."""
    return bundle.assignment_id or (bundle.assignment_reference, bundle.bundle_name, bundle.assigned_at)


def _timeline_row(entry) -> tuple[str, ...]:
    return (short_time(entry.at), entry.event, entry.detail)


class OrderDetailScreen(SaysWhyNot, ShowsWorkerFailures, Screen):
    BINDING_GROUP_TITLE = "Order"
    # Below 100 columns the facts, bundles and timeline stack and scroll (styles/support.tcss): side by
    # side they would cut the timeline and the bundles' data columns.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("r", "refresh", "Refresh", id="detail.refresh"),
        Binding("s", "show_again", "Show QR", id="detail.show"),
        Binding("e", "export", "Export", id="detail.export"),
        Binding("t", "top_up", "Top up", id="detail.top_up"),
        Binding("x", "refund", "Refund", id="detail.refund"),
        Binding("a", "settle", "Settle by hand", id="detail.settle"),
    ]

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order
        self.linked: list[Order] = []
        self.first_sale: Order | None = None  # when this order is a top-up
        self.error = ""
        self.asking = False  # a refresh is on its way

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static("", id="detail-title", markup=False)
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-facts-box"):
                yield Grid(id="detail-facts")
                yield Static("", id="detail-note", markup=False)
            with Vertical(id="detail-right"):
                yield Static("Bundles on this eSIM", classes="panel-title", markup=False)
                yield OfferTable(
                    BUNDLE_COLUMNS,
                    _bundle_row,
                    empty_text="No bundle reported yet (press r to ask the provider).",
                    key=_bundle_key,
                    left_text="The bundle you had highlighted is no longer listed on this eSIM; choose one.",
                    id="bundles",
                )
                yield Static("Timeline", classes="panel-title", markup=False)
                yield OfferTable(TIMELINE_COLUMNS, _timeline_row, empty_text="No events.", id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.esim_app.order_updates.subscribe(self, lambda change: self.order_changed(*change), immediate=True)
        self.show(self.order)
        self.query_one("#bundles", OfferTable).focus()
        self.load_linked()

    # ------------------------------------------------------------ showing

    def facts(self, order: Order) -> list[tuple[str, str]]:
        plan = order.plan
        rows = [
            ("Customer", order.customer_label or "—"),
            ("E-mail", order.customer_email or "—"),
            ("State", order_state(order, self.esim_app.sales.now())),
            ("Plan", plan.name),
            ("Destination", plan.destination.label),
            ("Data / validity", plan_summary(plan)),
            ("Price", format_money(order.price)),
            ("Provider", plan.provider.display),
            ("Client reference", order.client_reference),
            ("Provider order", order.provider_order_id or "—"),
            ("ICCID", order.iccid or "—"),
            ("Install", order.install_state.value.replace("_", " ").lower() if order.install_state else "—"),
            ("Activation", activation_words(order)),
            ("Valid until", short_time(order.expires_at)),
            ("Sold", short_time(order.created_at)),
        ]
        if order.kind is OrderKind.TOP_UP:
            rows.insert(0, ("Top-up of", f"order {order.linked_order_id}"))
        elif order.linked_order_id:
            rows.insert(0, ("Follows", f"order {order.linked_order_id}"))
        if order.failure:
            rows.append(("Failure", order.failure.reason))
        return rows

    def show(self, order: Order) -> None:
        self.order = order
        title = f"Order {order.id} · {customer(order)} · {order_state(order, self.esim_app.sales.now())}"
        self.query_one("#detail-title", Static).update(title)
        grid = self.query_one("#detail-facts", Grid)
        with self.app.batch_update():
            grid.remove_children()
            grid.mount_all(
                widget
                for label, value in self.facts(order)
                for widget in (Label(label, classes="fact-label", markup=False), Static(value, classes="fact-value", markup=False))
            )
        note = self.query_one("#detail-note", Static)
        lines = []
        if order.needs_attention:
            lines.append(f"Needs attention: {order.needs_attention}")
        if self.asking:
            lines.append("Asking the provider now…")
        elif self.error:
            lines.append(f"Last check failed: {self.error}")
        note.update("\n".join(lines))
        note.set_class(bool(order.needs_attention or (self.error and not self.asking)), "warning")
        bundles = self.query_one("#bundles", OfferTable)
        bundles.set_rows(order.bundles, keep=True)
        self.query_one("#timeline", OfferTable).set_rows(timeline(order, self.linked))
        self.refresh_bindings()

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        return [
            ("Ask the provider now", self.action_refresh, "Install state, bundles and data, fresh (r)"),
            ("Show the QR again", self.action_show_again, "While the eSIM is not installed (s)"),
            ("Export the QR and install links", self.action_export, "PNG, SVG and links to a folder (e)"),
            ("Top up this eSIM", self.action_top_up, "eSIM Go: compatible bundles; Octopus Cards: a new eSIM (t)"),
            ("Refund the highlighted bundle", self.action_refund, "eSIM Go, bundles not yet started (x)"),
            ("Settle this sale by hand", self.action_settle, "Outcome unknown: choose the provider's order, or none (a)"),
        ]

    def order_changed(self, order: Order, error: str | None = None) -> None:
        if order.id == self.order.id:
            self.error = error or ""
            self.show(order)
        elif order.linked_order_id == self.order.id:
            self.load_linked()

    @work(exclusive=True, group="linked", exit_on_error=False, description="Reading linked orders")
    async def load_linked(self) -> None:
        self.linked = await self.esim_app.sales.linked(self.order)
        self.first_sale = next((o for o in self.linked if o.id == self.order.linked_order_id), None)
        self.show(self.order)

    # ------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.asking = True
        self.show(self.order)
        self.refresh_now()

    @work(exclusive=True, group="refresh", exit_on_error=False, description="Asking the provider about the order")
    async def refresh_now(self) -> None:
        try:
            updated = await self.esim_app.sales.refresh(self.order)
        except EsimTuiError as exc:
            self.asking = False
            self.esim_app.order_changed(self.order, exc.message)
            return
        self.asking = False
        self.esim_app.order_changed(updated)

    def action_show_again(self) -> None:
        if self.order.activation_code is None:
            self.notify("No activation code was ever received for this order.", severity="warning", markup=False)
            return
        self.app.push_screen(DeliveryScreen(self.order))  # says so when the code is spent

    def why_not(self, action: str) -> str | None:
        return why_not_exportable(self.order) if action == "export" else None

    def action_export(self) -> None:
        self.app.push_screen(ExportScreen(self.order, self.esim_app.ctx.settings.ui.export_folder))

    def action_top_up(self) -> None:
        self.esim_app.top_up(self._esim_order())

    def action_refund(self) -> None:
        esim = self._esim_order()
        if not self.esim_app.sales.provider(esim.provider).supports_refunds:
            self.app.push_screen(RefundScreen(esim, None))  # says whom to ask instead
            return
        bundle = self.query_one("#bundles", OfferTable).acted_on("Choose a bundle first (press r if none is listed yet).")
        if bundle is None:
            return
        # The record that bought the highlighted bundle: it is checked, refunded and recorded, whichever
        # record of the eSIM is open.
        owner = refund_owner(bundle, [self.order, *self.linked]) or esim

        def refunded(result: object) -> None:
            if result is not None:
                self.action_refresh()  # ask now, so the revoked bundle shows as such

        self.app.push_screen(RefundScreen(owner, bundle), refunded)

    def action_settle(self) -> None:
        if self.order.status is not OrderStatus.UNKNOWN:
            self.notify("This sale's outcome is known: there is nothing to settle.", markup=False)
            return
        self.esim_app.settle_by_hand(self.order)

    def _esim_order(self) -> Order:
        """The first sale of the eSIM: top-ups and refunds act on the eSIM, whichever record is open."""
        return self.first_sale if self.order.kind is OrderKind.TOP_UP and self.first_sale is not None else self.order

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        delivered = self.order.status is OrderStatus.DELIVERED and bool(self.order.iccid)
        if action in ("top_up", "refund"):
            return delivered
        if action == "show_again":
            return self.order.activation_code is not None
        if action == "export":  # a spent code is of no use to anyone: nothing to export
            return why_not_exportable(self.order) is None
        if action == "settle":
            return self.order.status is OrderStatus.UNKNOWN
        return True
