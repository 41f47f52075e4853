"""`esim-tui orders`: the records newest first, as text and JSON lines, while the app holds the store."""

from __future__ import annotations

import json
from datetime import timedelta

from esim_tui.cli import main
from esim_tui.domain.orders import OrderStatus
from esim_tui.store.orders import OrderStore
from tests.store_helpers import T, order_for, sample_plan


def test_orders_prints_newest_first_even_while_the_app_holds_the_store(tmp_path, capsys):
    db = tmp_path / "orders.json"
    sandbox_file = tmp_path / "orders-sandbox.json"  # no provider configured: the sandbox's own file
    with OrderStore.open(sandbox_file) as store:  # held open, as the running app holds it
        older = order_for(sample_plan(), "ESIM-20261122-AAAA0001", customer_label="Ana Silva", status=OrderStatus.DELIVERED,
                          iccid="8944158813998698796", activation_code="LPA:1$rsp.example.com$AB-12")
        newer = order_for(sample_plan(), "ESIM-20261122-AAAA0002", customer_label="Bo [bold]Li[/]", created_at=T + timedelta(hours=1))
        store.save(older)
        store.save(newer)
        assert main(["--db", str(db), "orders"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [line.split("  ")[1] for line in lines] == ["ESIM-20261122-AAAA0002", "ESIM-20261122-AAAA0001"]
        assert "Bo [bold]Li[/]" in lines[0] and "Delivered, not installed" in lines[1]
        assert main(["--db", str(db), "orders", "--json"]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["client_reference"] for r in records] == ["ESIM-20261122-AAAA0002", "ESIM-20261122-AAAA0001"]
        assert records[1]["activation_code"] == "LPA:1$rsp.example.com$AB-12" and records[1]["price"]["amount"] == "4.50"


def test_orders_with_no_file_says_so(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "none.json"), "orders"]) == 0
    assert "No orders yet" in capsys.readouterr().err


def test_orders_lists_an_esim_past_its_validity_as_expired_not_out_of_data(tmp_path, capsys):
    from esim_tui.domain.orders import BundleState, BundleUsage

    with OrderStore.open(tmp_path / "orders-sandbox.json") as store:
        dry = BundleUsage(bundle_name="b", state=BundleState.DEPLETED, initial_bytes=10**9, remaining_bytes=0)
        store.save(order_for(sample_plan(), "ESIM-20261122-OVER0001", status=OrderStatus.DELIVERED, iccid="8944158813998698796",
                             bundles=(dry,), expires_at=T + timedelta(days=7)))  # ended long before the real clock
    assert main(["--db", str(tmp_path / "orders.json"), "orders"]) == 0
    line = capsys.readouterr().out
    assert "Expired" in line and "Out of data" not in line
