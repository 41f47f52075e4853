"""How an order reads on the desk's screens and in `esim-tui orders show`."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import ActivationStatus, InstallState, OrderKind
from esim_tui.services.support import describe
from esim_tui.services.wording import activation_words
from tests.store import make_order


@pytest.mark.parametrize(
    ("install", "activation", "words"),
    [
        (None, None, "—"),
        (InstallState.NOT_INSTALLED, ActivationStatus.NOT_INSTALLED, "not installed"),
        # On the phone, no data used yet: the provider still says NOT_INSTALLED.
        (InstallState.INSTALLED, ActivationStatus.NOT_INSTALLED, "not active yet (no data used)"),
        (InstallState.INSTALLED, ActivationStatus.ACTIVE, "active"),
        (InstallState.REMOVED, ActivationStatus.EXPIRED, "expired"),
    ],
)
def test_activation_reads_as_the_customer_would_say_it(install, activation, words):
    order = make_order(install_state=install, activation_status=activation)
    assert activation_words(order) == words


@pytest.mark.parametrize(("kind", "relation"), [(OrderKind.TOP_UP, "tops up"), (OrderKind.SALE, "follows")])
def test_orders_show_names_how_a_linked_order_is_linked(kind, relation):
    first = make_order(1)
    later = make_order(2, kind=kind, linked_order_id=first.id)
    assert [o["relation"] for o in describe(later, [first])["linked_orders"]] == [relation]
    assert [o["relation"] for o in describe(first, [later])["linked_orders"]] == ["top-up" if kind is OrderKind.TOP_UP else "follow-up sale"]
