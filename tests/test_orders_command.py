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
    with OrderStore.open(db) as store:  # held open, as the running app holds it
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


def shop_and_training(tmp_path, shop: int, training: int) -> list[str]:
    """The shop's order file and the sandbox's beside it, with that many sales each; the --db option."""
    for path, count, prefix in ((tmp_path / "orders.json", shop, "SHOP"), (tmp_path / "orders-sandbox.json", training, "TRAIN")):
        if count:
            with OrderStore.open(path) as store:
                for n in range(count):
                    store.save(order_for(sample_plan(), f"ESIM-20261122-{prefix}{n:04d}", created_at=T + timedelta(minutes=n)))
    return ["--db", str(tmp_path / "orders.json")]


def references(out: str) -> list[str]:
    return [line.split("  ")[1] for line in out.splitlines()]


def test_db_reads_the_file_it_names_and_sandbox_the_training_sales_whatever_the_environment(tmp_path, capsys, monkeypatch):
    for var in ("ESIM_TUI_OCTOPUS_TOKEN", "ESIM_TUI_ESIMGO_API_KEY", "ESIM_TUI_CONFIG"):
        monkeypatch.delenv(var, raising=False)  # a desk machine without the provider token
    db = shop_and_training(tmp_path, shop=1, training=2)
    assert main([*db, "orders"]) == 0
    assert references(capsys.readouterr().out) == ["ESIM-20261122-SHOP0000"]
    assert main([*db, "orders", "--sandbox"]) == 0
    assert references(capsys.readouterr().out) == ["ESIM-20261122-TRAIN0001", "ESIM-20261122-TRAIN0000"]
    assert main(["--sandbox", *db, "orders", "find", "train"]) == 0  # --sandbox before the command too
    assert len(references(capsys.readouterr().out)) == 2


def test_an_empty_shop_file_points_to_the_training_sales_on_stderr(tmp_path, capsys):
    db = shop_and_training(tmp_path, shop=0, training=3)
    assert main([*db, "orders"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"No orders in {tmp_path / 'orders.json'}; 3 training sales: esim-tui --db {tmp_path / 'orders.json'} orders --sandbox"
    assert main([*db, "orders", "find", "x"]) == 1
    assert "3 training sales: esim-tui --db" in capsys.readouterr().err


def test_no_training_sales_points_to_the_shops_orders(tmp_path, capsys):
    db = shop_and_training(tmp_path, shop=1, training=0)
    assert main([*db, "orders", "--sandbox"]) == 0
    err = capsys.readouterr().err
    assert f"No training sales in {tmp_path / 'orders-sandbox.json'}; 1 order in {tmp_path / 'orders.json'}: esim-tui --db" in err
    assert err.rstrip().endswith(" orders")


def test_json_on_an_empty_store_is_empty_json_lines_and_the_reason_goes_to_stderr(tmp_path, capsys):
    db = tmp_path / "orders.json"
    OrderStore.open(db).close()  # the file is there, with no order in it
    assert main(["--db", str(db), "orders", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and f"No orders yet ({db})." in err
    shop_and_training(tmp_path, shop=0, training=1)
    assert main(["--db", str(db), "orders", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "1 training sale: " in err and err.rstrip().endswith("orders --json --sandbox")


def test_orders_lists_an_esim_past_its_validity_as_expired_not_out_of_data(tmp_path, capsys):
    from esim_tui.domain.orders import BundleState, BundleUsage

    with OrderStore.open(tmp_path / "orders.json") as store:
        dry = BundleUsage(bundle_name="b", state=BundleState.DEPLETED, initial_bytes=10**9, remaining_bytes=0)
        store.save(order_for(sample_plan(), "ESIM-20261122-OVER0001", status=OrderStatus.DELIVERED, iccid="8944158813998698796",
                             bundles=(dry,), expires_at=T + timedelta(days=7)))  # ended long before the real clock
    assert main(["--db", str(tmp_path / "orders.json"), "orders"]) == 0
    line = capsys.readouterr().out
    assert "Expired" in line and "Out of data" not in line
