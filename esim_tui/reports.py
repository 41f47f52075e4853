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
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from esim_tui import jsonnum
from esim_tui.config import Settings
from esim_tui.domain.money import format_money
from esim_tui.domain.orders import Order


def _now() -> datetime:
    return datetime.now(UTC)


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

    return row_line(summary(order, _now()))


def order_file(settings: Settings, sandbox: bool = False) -> Path:
    """The order file read: the one the settings name (``--db``), or with ``sandbox`` the training sales
    beside it. Chosen by the agent, never by the environment: a desk script on a machine without the
    provider token still reads the shop's sales."""
    from esim_tui.config_file import sandbox_order_file

    return sandbox_order_file(settings.order_file()) if sandbox else settings.order_file()


def _count(path: Path) -> int:
    from esim_tui.store.orders import OrderStore

    if not path.exists():
        return 0
    with OrderStore.open(path, read_only=True) as store:
        return store.count()


def _say_empty(settings: Settings, sandbox: bool, again: str) -> None:
    """No orders where the agent looked: say so, and where there are some if the other file has them."""
    path, other = order_file(settings, sandbox), order_file(settings, not sandbox)
    try:
        elsewhere = _count(other)
    except Exception:  # noqa: BLE001 - only a hint; the file read is what was asked
        elsewhere = 0
    if not elsewhere:
        print(f"No {'training sales' if sandbox else 'orders'} yet ({path}).", file=sys.stderr)
    elif sandbox:
        print(f"No training sales in {path}; {elsewhere} order{'s' * (elsewhere != 1)} in {other}: {again}", file=sys.stderr)
    else:
        print(f"No orders in {path}; {elsewhere} training sale{'s' * (elsewhere != 1)}: {again} --sandbox", file=sys.stderr)


@contextmanager
def _read_only_store(settings: Settings, sandbox: bool, again: str) -> Iterator[object | None]:
    """The store opened read-only, or None when it holds no order (said on stderr, with a hint to the
    other file when that one has some)."""
    from esim_tui.store.orders import OrderStore

    path = order_file(settings, sandbox)
    if not path.exists():
        _say_empty(settings, sandbox, again)
        yield None
        return
    with OrderStore.open(path, read_only=True) as store:
        if store.count():
            yield store
            return
    _say_empty(settings, sandbox, again)
    yield None


def print_orders(
    settings: Settings, *, as_json: bool = False, sandbox: bool = False, again: str = "esim-tui orders", out: TextIO | None = None
) -> int:
    """``orders``: every record, newest first; on an empty store nothing on stdout (empty JSON lines
    with ``--json``) and the reason on stderr."""
    out = out or sys.stdout  # looked up now: a default bound at import would miss a redirected stdout
    with _read_only_store(settings, sandbox, again) as store:
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
    sandbox: bool = False,
    again: str = "esim-tui orders find",
    out: TextIO | None = None,
) -> int:
    """``orders find``: the orders matching ``text`` (0), or none (1), as the Orders screen finds them.
    No text: every order (in ``status``)."""
    from esim_tui.services.support import OrderFilter, OrderFinder

    out = out or sys.stdout
    with _read_only_store(settings, sandbox, again) as store:
        if store is None:
            return 1
        rows = OrderFinder.load(store, _now()).search(text, OrderFilter(status))
    if not rows:
        label = OrderFilter(status).label.lower()  # as the Orders screen says it
        if not text.strip():
            print("No orders yet." if status == "all" else f"No orders under {OrderFilter(status).label}.", file=sys.stderr)
        else:
            where = "" if status == "all" else f" among {label} orders"
            print(f"No order matches {text!r}{where}.", file=sys.stderr)
        return 1
    for row in rows:
        out.write((json.dumps(row.as_json(), ensure_ascii=False) if as_json else row_line(row)) + "\n")
    return 0


def show_order(
    settings: Settings, key: str, *, as_json: bool = False, sandbox: bool = False, again: str = "esim-tui orders show", out: TextIO | None = None
) -> int:
    """``orders show``: one order by id, client reference, provider order id or full ICCID (0), or 1."""
    from esim_tui.services.support import describe, find_order, linked_orders, render_text

    out = out or sys.stdout
    with _read_only_store(settings, sandbox, again) as store:
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
    now = _now()
    if as_json:
        out.write(json.dumps(describe(order, linked, now), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render_text(order, linked, now))
    return 0
