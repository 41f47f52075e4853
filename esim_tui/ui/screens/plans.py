"""Sell, step 2: the destination's plans from every provider side by side. Enter chooses one."""

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
from esim_tui.services.catalogue import DestinationOffer
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

SORTS = {
    "price": (lambda p: (p.price.amount, p.validity_days), "price, lowest first"),
    "data": (lambda p: (-(p.data_mb if p.data_mb is not None else 10**12), p.price.amount), "data, most first"),
    "validity": (lambda p: (-p.validity_days, p.price.amount), "validity, longest first"),
}


def _row(plan: Plan) -> tuple[str, ...]:
    return (plan.provider.display, plan.name, plan.data_label, str(plan.validity_days), format_money(plan.price))


def _country_names(codes: tuple[str, ...], limit: int = 12) -> str:
    names = []
    for code in codes:
        try:
            names.append(destinations.country(code).name)
        except LookupError:
            names.append(code)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def plan_details(plan: Plan) -> str:
    """The detail pane's text (plain, never markup)."""
    lines = [
        plan.name,
        f"by {plan.provider.display}",
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
        line = f"{d.label} · {self.offer.plan_count} plans from {providers}"
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
            yield OfferTable(COLUMNS, _row, empty_text="This destination has no plans on sale.", id="plans")
            with VerticalScroll(id="plan-detail-box"):
                yield Static("", id="plan-detail", markup=False)
        yield Static("", id="plans-sort", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._apply_sort()
        self.query_one("#plans", OfferTable).focus()

    def _apply_sort(self, keep: Plan | None = None) -> None:
        key, label = SORTS[self.sort_key]
        self.query_one("#plans", OfferTable).set_rows(sorted(self.offer.plans, key=key), keep=keep)
        self.query_one("#plans-sort", Static).update(f"Sorted by {label}.  p price · d data · v validity")

    def action_sort(self, key: str) -> None:
        self.sort_key = key
        self._apply_sort(keep=self.query_one("#plans", OfferTable).highlighted)

    @on(OfferTable.Highlighted, "#plans")
    def _highlighted(self, event: OfferTable.Highlighted) -> None:
        self.query_one("#plan-detail", Static).update(plan_details(event.row))

    @on(OfferTable.Chosen, "#plans")
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.choose(event.row)

    def choose(self, plan: Plan) -> None:
        self.esim_app.confirm_plan(plan, follows=self.follows)
