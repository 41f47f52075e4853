"""How an order reads on the desk's screens and in `esim-tui orders show`."""

from __future__ import annotations

import pytest

from esim_tui.domain.orders import ActivationStatus, InstallState, OrderKind
from esim_tui.services.support import describe
from esim_tui.services.wording import activation_words
from tests.store import JAPAN_5GB, make_order


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


def test_plan_summary_says_one_day_and_the_data_as_a_person_reads_it():
    from esim_tui.services.wording import plan_summary

    day = JAPAN_5GB.model_copy(update={"data_mb": 500, "validity_days": 1})
    assert plan_summary(day) == "500 MB / 1 day"
    assert plan_summary(JAPAN_5GB.model_copy(update={"data_mb": 1500})) == "1.5 GB / 30 days"


def test_data_left_reads_in_whole_mb_below_a_gb():
    from esim_tui.domain.orders import BundleState, BundleUsage
    from esim_tui.services.wording import data_left

    bundle = BundleUsage(bundle_name="JP_1GB_7D", state=BundleState.ACTIVE, initial_bytes=10**9, remaining_bytes=750_004_321)
    assert data_left(make_order(bundles=(bundle,))).endswith(" 750 MB")


def test_a_time_shows_its_year_only_outside_the_current_one():
    from datetime import UTC, datetime

    from esim_tui.services.wording import short_time

    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert short_time(datetime(2026, 12, 22, 9, 0, tzinfo=UTC), now) == "22 Dec 09:00"
    assert short_time(datetime(2027, 1, 21, 9, 0, tzinfo=UTC), now) == "21 Jan 2027 09:00"
    assert short_time(None, now) == "—"
