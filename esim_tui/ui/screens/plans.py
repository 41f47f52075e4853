"""Sell, step 2: the destination's plans from every provider side by side. Enter chooses one.

A country's list has the regional and global plans covering it sorted in with its own, marked with
their coverage ("Europe (51 countries) · ..."). They sell exactly as from their region (the same Plan).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from esim_tui.domain import destinations, formats
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order
from esim_tui.domain.plans import Plan
from esim_tui.services.catalogue import DestinationOffer, covered
from esim_tui.services.wording import customer
from esim_tui.ui.widgets.offer_table import Column, OfferTable
from esim_tui.ui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from esim_tui.ui.app import EsimApp

COLUMNS = (
    Column("Provider", 13),
    Column("Plan", 30, flex=True),
    Column("Data", 10, "right"),
    Column("Days", 5, "right"),
    Column("Price", 12, "right"),
)
# Where the table is narrower than that (80 columns): the provider shortens ("Octopus…"), the plan
# name gives way, and price, data and validity stay whole ("Unlimited", "1234.50 USD").
NARROW = (
    Column("Provider", 8),
    Column("Plan", 24, flex=True),
    Column("Data", 9, "right"),
    Column("Days", 4, "right"),
    Column("Price", 11, "right"),
)
_WIDE_ENOUGH = sum(c.width + 1 for c in COLUMNS if not c.flex) + 20

SORTS = {
    "price": (lambda p: (p.price.amount, p.validity_days), "price, lowest first"),
    "data": (lambda p: (-(p.data_mb if p.data_mb is not None else 10**12), p.price.amount), "data, most first"),
    "validity": (lambda p: (-p.validity_days, p.price.amount), "validity, longest first"),
}


def _row(plan: Plan) -> tuple[str, ...]:
    return (plan.provider.display, plan.name, plan.data_label, str(plan.validity_days), format_money(plan.price))


def coverage_label(plan: Plan) -> str:
    """What a regional or global plan covers, in a few words: "Europe (51 countries)", "Global"."""
    count = len(covered(plan))
    if plan.destination.kind.value == "global" and not plan.coverage:
        return "Global"
    return f"{plan.destination.name} ({count} {'country' if count == 1 else 'countries'})"


def offer_row(offer: DestinationOffer, plan: Plan) -> tuple[str, ...]:
    """A row of ``offer``'s table: a plan from its region or the world is marked with its coverage."""
    cells = _row(plan)
    if offer.is_wider(plan):
        place = plan.destination.name
        # "Europe 1 GB / 7 days" -> "Europe (51 countries) · 1 GB / 7 days": the region said once
        rest = plan.name[len(place) :].lstrip(" -·:") if plan.name.startswith(place + " ") else plan.name
        return (cells[0], f"{coverage_label(plan)} · {rest}", *cells[2:])
    return cells


def _country_names(codes: tuple[str, ...], limit: int = 12) -> str:
    names = []
    for code in codes:
        try:
            names.append(destinations.country(code).name)
        except LookupError:
            names.append(code)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def plan_details(plan: Plan, offered_for: str | None = None) -> str:
    """The detail pane's text (plain, never markup). ``offered_for``: the country whose list shows this
    regional or global plan."""
    lines = [plan.name, f"by {plan.provider.display}"]
    if offered_for is not None:
        lines.append(f"A {plan.destination.kind.value} plan: {coverage_label(plan)}, listed here as it covers {offered_for}")
    lines += [
        "",
        f"Data       {plan.data_label}",
        f"Validity   {formats.days(plan.validity_days)}",
        f"Price      {format_money(plan.price)}",
    ]
    if plan.discount_percent:
        lines.append(f"Discount   {plan.discount_percent.normalize():f}% off the wallet debit")
    if plan.speeds:
        lines.append(f"Speeds     {', '.join(plan.speeds)}")
    if plan.autostart is not None:
        lines.append(f"Starts     {'on first use' if plan.autostart else 'when applied'}")
    lines.append("")
    if plan.coverage:
        lines.append(f"Covers {len(plan.coverage)} {'country' if len(plan.coverage) == 1 else 'countries'}: {_country_names(plan.coverage)}")
    else:
        lines.append("Covers: worldwide" if plan.destination.kind.value == "global" else "Covers: not stated by the provider")
    if plan.roaming:
        lines.append(f"Roams in {len(plan.roaming)} more: {_country_names(plan.roaming)}")
    if plan.description:
        lines += ["", plan.description]
    return "\n".join(lines)


class PlansScreen(Screen):
    BINDING_GROUP_TITLE = "Plans"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="plans.back"),
        Binding("p", "sort('price')", "Sort by price", id="plans.sort_price"),
        Binding("d", "sort('data')", "Sort by data", id="plans.sort_data"),
        Binding("v", "sort('validity')", "Sort by validity", id="plans.sort_validity"),
    ]

    def __init__(self, offer: DestinationOffer, *, follows: Order | None = None) -> None:
        super().__init__()
        self.offer = offer
        self.follows = follows  # a new eSIM for this earlier sale's customer
        self.sort_key = "price"

    def title_line(self) -> str:
        d = self.offer.destination
        providers = ", ".join(p.display for p in self.offer.providers)
        wider = self.offer.plan_count - self.offer.own_plan_count
        count = f"{self.offer.plan_count} plans" + (f" ({wider} regional or global)" if wider else "")
        line = f"{d.label} · {count} from {providers}"
        if self.follows is not None:
            line += f" · a new eSIM for {customer(self.follows)}"
        return line

    @property
    def esim_app(self) -> EsimApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static(self.title_line(), id="plans-title", markup=False)
        with Horizontal(id="plans-body"):
            yield OfferTable(
                COLUMNS,
                lambda plan: offer_row(self.offer, plan),
                empty_text="This destination has no plans on sale.",
                key=lambda plan: plan.key,
                left_text="The plan you had highlighted is no longer on sale; choose one.",
                id="plans",
            )
            with VerticalScroll(id="plan-detail-box"):
                yield Static("", id="plan-detail", markup=False)
        yield Static("", id="plans-sort", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._apply_sort()
        self.query_one("#plans", OfferTable).focus()
        self.call_after_refresh(self._fit_columns)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        table = self.query_one("#plans", OfferTable)
        columns = COLUMNS if table.scrollable_content_region.width >= _WIDE_ENOUGH else NARROW
        if table.columns != columns:
            table.columns = columns
            table.refresh_rows()

    def _apply_sort(self, keep: bool = False) -> None:
        """``keep``: the highlighted plan stays highlighted (a new sort, plans answered anew)."""
        key, label = SORTS[self.sort_key]
        self.query_one("#plans", OfferTable).set_rows(sorted(self.offer.plans, key=key), keep=keep)
        self.query_one("#plans-sort", Static).update(f"Sorted by {label}.  p price · d data · v validity")

    def action_sort(self, key: str) -> None:
        self.sort_key = key
        self._apply_sort(keep=True)

    @on(OfferTable.Highlighted, "#plans")
    def _highlighted(self, event: OfferTable.Highlighted) -> None:
        plan: Plan | None = event.row
        here = self.offer.destination.name if plan is not None and self.offer.is_wider(plan) else None
        self.query_one("#plan-detail", Static).update(plan_details(plan, here) if plan is not None else "")

    @on(OfferTable.Chosen, "#plans")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.choose(event.row)

    def choose(self, plan: Plan) -> None:
        self.esim_app.confirm_plan(plan, follows=self.follows)
