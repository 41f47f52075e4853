"""How an order's state reads on the desk's screens and in `esim-tui orders show`."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import ActivationStatus, InstallState
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
