"""``esim-tui orders``: the order records, newest first, for scripts and support desks.

Opens the store read-only, so it works while the app is running. JSON lines carry everything the
record holds (including the activation code: keep the output as safe as the order file itself).
"""

from __future__ import annotations

import sys
from typing import TextIO

from esim_tui import jsonnum
from esim_tui.config import Settings
from esim_tui.domain.money import format_amount
from esim_tui.domain.orders import Order


def order_line(order: Order) -> str:
    from esim_tui.services.wording import customer, order_state

    return "  ".join(
        [
            order.created_at.strftime("%Y-%m-%d %H:%M"),
            order.client_reference,
            order.provider.display,
            order.plan.name,
            f"{format_amount(order.price.amount)} {order.price.currency}",
            order_state(order),
            customer(order),
            order.iccid or "-",
        ]
    )


def print_orders(settings: Settings, *, as_json: bool = False, sandbox: bool | None = None, out: TextIO = sys.stdout) -> int:
    from esim_tui.store.orders import OrderStore
    from esim_tui.ui.context import sandbox_order_file

    on_sandbox = settings.uses_sandbox if sandbox is None else sandbox
    path = sandbox_order_file(settings) if on_sandbox else settings.order_file()
    if not path.exists():
        print(f"No orders yet ({path}).", file=sys.stderr)
        return 0
    with OrderStore.open(path, read_only=True) as store:
        for order in store.all():
            if as_json:
                out.write(jsonnum.dumps(order.model_dump(mode="json")) + "\n")
            else:
                out.write(order_line(order) + "\n")
    return 0
