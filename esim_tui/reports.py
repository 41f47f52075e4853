"""``esim-tui orders``: the order records for scripts, tickets and support desks.

``orders`` lists them newest first; ``orders find TEXT`` searches them as the Orders screen does;
``orders show ID`` prints one order's detail and whole life. Each opens the store read-only, so it
works while the app is running. ``orders --json`` carries everything the record holds (including the
activation code: keep its output as safe as the order file itself); ``find`` never prints an activation
code, and ``show`` only while the eSIM is not installed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from esim_tui import jsonnum
from esim_tui.config import Settings
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order


def row_line(row) -> str:
    """One order on one line (an ``OrderRow``): the same columns for ``orders`` and ``orders find``."""
    return "  ".join(
        [
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            row.client_reference,
            row.provider.display,
            row.plan,
            format_money(row.price),
            row.state,
            row.customer,
            row.iccid or "-",
        ]
    )


def order_line(order: Order) -> str:
    from esim_tui.services.support import summary

    return row_line(summary(order))


def order_file(settings: Settings, sandbox: bool | None = None) -> Path:
    """The order file the app uses with these settings (the sandbox keeps its own)."""
    from esim_tui.ui.context import sandbox_order_file

    on_sandbox = settings.uses_sandbox if sandbox is None else sandbox
    return sandbox_order_file(settings) if on_sandbox else settings.order_file()


@contextmanager
def _read_only_store(settings: Settings, sandbox: bool | None) -> Iterator[object | None]:
    """The store opened read-only, or None (said on stderr) when there is no order file yet."""
    from esim_tui.store.orders import OrderStore

    path = order_file(settings, sandbox)
    if not path.exists():
        print(f"No orders yet ({path}).", file=sys.stderr)
        yield None
        return
    with OrderStore.open(path, read_only=True) as store:
        yield store


def print_orders(settings: Settings, *, as_json: bool = False, sandbox: bool | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now: a default bound at import would miss a redirected stdout
    with _read_only_store(settings, sandbox) as store:
        for order in store.all() if store is not None else ():
            if as_json:
                out.write(jsonnum.dumps(order.model_dump(mode="json")) + "\n")
            else:
                out.write(order_line(order) + "\n")
    return 0


def find_orders(
    settings: Settings,
    text: str,
    *,
    status: str = "all",
    as_json: bool = False,
    sandbox: bool | None = None,
    out: TextIO | None = None,
) -> int:
    """``orders find``: the orders matching ``text`` (0), or none (1), as the Orders screen finds them."""
    from esim_tui.services.support import OrderFilter, OrderFinder

    out = out or sys.stdout
    with _read_only_store(settings, sandbox) as store:
        if store is None:
            return 1
        rows = OrderFinder.load(store).search(text, OrderFilter(status))
    if not rows:
        where = "" if status == "all" else f" among {status.replace('_', ' ')} orders"
        print(f"No order matches {text!r}{where}.", file=sys.stderr)
        return 1
    for row in rows:
        out.write((json.dumps(row.as_json(), ensure_ascii=False) if as_json else row_line(row)) + "\n")
    return 0


def show_order(settings: Settings, key: str, *, as_json: bool = False, sandbox: bool | None = None, out: TextIO | None = None) -> int:
    """``orders show``: one order by id, client reference, provider order id or full ICCID (0), or 1."""
    from esim_tui.services.support import describe, find_order, linked_orders, render_text

    out = out or sys.stdout
    with _read_only_store(settings, sandbox) as store:
        if store is None:
            return 1
        order = find_order(store, key)
        if order is None:
            print(
                f"No order has the id, client reference, provider order id or ICCID {key!r} "
                f"({order_file(settings, sandbox)}). Try: esim-tui orders find {key!r}",
                file=sys.stderr,
            )
            return 1
        linked = linked_orders(store, order)
    if as_json:
        out.write(json.dumps(describe(order, linked), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render_text(order, linked))
    return 0
