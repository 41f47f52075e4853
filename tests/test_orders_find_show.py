"""`esim-tui orders find TEXT` and `esim-tui orders show ID`: what the desk's scripts and tickets get."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from esim_tui.cli import main
from esim_tui.domain.orders import (
    ActivationStatus,
    BundleState,
    BundleUsage,
    InstallState,
    OrderKind,
    OrderStatus,
)
from esim_tui.store.orders import OrderStore
from tests.store_helpers import T, order_for, sample_plan, sold

ANA_ICCID = "8944158813998698796"


@pytest.fixture
def desk(tmp_path):
    """The order file --db names, with a few sales; yields the --db option."""
    with OrderStore.open(tmp_path / "orders.json", clock=lambda: T) as store:
        ana = sold("ESIM-20261120-ANA00001", ANA_ICCID, customer_label="Ana Silva", created_at=T - timedelta(days=2))
        store.save(ana)
        store.save(sold("ESIM-20261121-BOLI0002", "8944000087960000011", customer_label="Bo Li", created_at=T - timedelta(days=1),
                        install_state=InstallState.INSTALLED, installed_at=T - timedelta(hours=20)))
        store.save(order_for(sample_plan(), "ESIM-20261122-FAIL0003", customer_label="Ana Failed", status=OrderStatus.FAILED))
        top_up = order_for(sample_plan(name="Japan top-up 1 GB"), "ESIM-20261122-TOP00004", kind=OrderKind.TOP_UP,
                           linked_order_id=ana.id, iccid=ANA_ICCID, status=OrderStatus.DELIVERED, created_at=T + timedelta(hours=1))
        store.save(top_up)
        ana.follow_ups.append(top_up.id)
        ana.note(T + timedelta(hours=1), "TOPPED UP", f"{top_up.plan.name} (order {top_up.id})")
        store.save(ana)
    return ["--db", str(tmp_path / "orders.json")]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_find_by_the_last_four_digits_prints_the_order_without_its_code(desk, capsys):
    code, out, _ = run(capsys, *desk, "orders", "find", "8796")
    lines = out.splitlines()
    assert code == 0
    # Both orders on Ana's eSIM end in 8796 (newest first), then Bo's, which has 8796 elsewhere.
    assert [line.split("  ")[1] for line in lines] == ["ESIM-20261122-TOP00004", "ESIM-20261120-ANA00001", "ESIM-20261121-BOLI0002"]
    assert "Ana Silva" in lines[1] and "Delivered, not installed" in lines[1] and ANA_ICCID in lines[1]
    assert "LPA:" not in out


def test_find_as_json_lines_with_a_status_filter(desk, capsys):
    code, out, _ = run(capsys, *desk, "orders", "find", "ana", "--status", "failed", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["client_reference"], r["stage"], r["price"]) for r in records] == [
        ("ESIM-20261122-FAIL0003", "failed", {"amount": "4.50", "currency": "USD"})
    ]
    code, out, _ = run(capsys, *desk, "orders", "find", "ana", "silva", "--json")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == ["esim-20261120-ana00001"]
    assert "activation_code" not in out and "LPA:" not in out


def test_find_with_no_match_says_so_and_exits_1(desk, capsys):
    code, out, err = run(capsys, *desk, "orders", "find", "nobody")
    assert code == 1 and out == "" and "No order matches 'nobody'" in err
    code, _, err = run(capsys, *desk, "orders", "find", "bo", "--status", "needs-attention")
    assert code == 1 and "among needs attention orders" in err


def test_find_refuses_an_unknown_status(desk, capsys):
    with pytest.raises(SystemExit) as done:
        main([*desk, "orders", "find", "x", "--status", "lost"])
    assert done.value.code == 2 and "'lost' is not one of all, pending" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["esim-20261120-ana00001", "ESIM-20261120-ANA00001", "oc-esim-20261120-ana00001", ANA_ICCID])
def test_show_finds_the_order_by_any_id_the_ticket_holds(desk, capsys, key):
    code, out, _ = run(capsys, *desk, "orders", "show", key)
    assert code == 0
    assert out.startswith("Order             esim-20261120-ana00001 (sale)\n")
    assert "Activation code   LPA:1$rsp.example.com$ANA00001" in out  # not installed: the desk may read it out
    assert "Linked orders\n  top-up: esim-20261122-top00004  Japan top-up 1 GB" in out
    assert "Topped up: Japan top-up 1 GB (order esim-20261122-top00004)" in out


def test_show_an_installed_esim_says_the_code_is_spent(desk, capsys):
    code, out, _ = run(capsys, *desk, "orders", "show", "ESIM-20261121-BOLI0002")
    assert code == 0 and "Activation code   spent (installed)" in out and "LPA:" not in out
    code, out, _ = run(capsys, *desk, "orders", "show", "ESIM-20261121-BOLI0002", "--json")
    details = json.loads(out)
    assert details["activation_code"] is None and details["activation_code_state"] == "spent (installed)"
    assert details["install_state"] == "INSTALLED" and details["installed_at"] == "2026-11-21T13:00:00+00:00"
    assert details["price"] == {"amount": "4.50", "currency": "USD"}


def test_show_an_archived_order_as_json(desk, capsys):
    code, out, _ = run(capsys, *desk, "orders", "show", "ESIM-20261122-FAIL0003", "--json")
    details = json.loads(out)
    assert code == 0 and details["stage"] == "failed" and details["state"] == "Failed"


def test_show_an_unknown_id_is_a_clear_error(desk, capsys):
    code, out, err = run(capsys, *desk, "orders", "show", "8944000000000000000")
    assert code == 1 and out == ""
    assert "No order has the id, client reference, provider order id or ICCID '8944000000000000000'" in err


def test_find_and_show_work_while_the_app_holds_the_store(tmp_path, capsys):
    with OrderStore.open(tmp_path / "orders.json") as store:  # held open, as the running app holds it
        store.save(sold("ESIM-20261122-HELD0001", ANA_ICCID, customer_label="Held Open"))
        assert run(capsys, "--db", str(tmp_path / "orders.json"), "orders", "find", "held")[0] == 0
        assert run(capsys, "--db", str(tmp_path / "orders.json"), "orders", "show", ANA_ICCID)[0] == 0


def test_find_and_show_with_no_order_file(tmp_path, capsys):
    code, _, err = run(capsys, "--db", str(tmp_path / "none.json"), "orders", "find", "x")
    assert code == 1 and "No orders yet" in err
    code, _, err = run(capsys, "--db", str(tmp_path / "none.json"), "orders", "show", "x")
    assert code == 1 and "No orders yet" in err


def test_orders_find_as_an_installed_command(desk, tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "esim_tui", *desk, "orders", "find", "ana", "silva"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert [line.split("  ")[1] for line in done.stdout.splitlines()] == ["ESIM-20261120-ANA00001"]


@pytest.fixture
def in_use(tmp_path):
    """eSIMs in use: one active, one out of data, one out of data and past its validity; the --db option
    (which reads the file it names, as `--db` does since the CLI stopped choosing by the environment)."""
    far = T + timedelta(days=4000)  # valid long after the real clock `orders find` reads
    with OrderStore.open(tmp_path / "orders.json", clock=lambda: T) as store:
        for n, (reference, state, ends) in enumerate([("ESIM-20261120-LIVE0001", BundleState.ACTIVE, far),
                                                       ("ESIM-20261121-DRY00002", BundleState.DEPLETED, far),
                                                       ("ESIM-20261122-OVER0003", BundleState.DEPLETED, T + timedelta(days=7))]):
            bundle = BundleUsage(bundle_name="b", state=state, initial_bytes=10**9, remaining_bytes=0 if state is BundleState.DEPLETED else 10**8)
            store.save(sold(reference, f"894400000000000000{n}", customer_label=reference[-6:], install_state=InstallState.INSTALLED,
                            installed_at=T, activation_status=ActivationStatus.ACTIVE, bundles=(bundle,), expires_at=ends))
    return ["--db", str(tmp_path / "orders.json")]


def _references(out: str) -> list[str]:
    return [line.split("  ")[1] for line in out.splitlines()]


def test_find_with_a_status_and_no_text_lists_every_order_in_it(in_use, capsys):
    code, out, _ = run(capsys, *in_use, "orders", "find", "--status", "active")
    assert code == 0 and _references(out) == ["ESIM-20261120-LIVE0001"]
    code, out, err = run(capsys, *in_use, "orders", "find", "--status", "failed")
    assert code == 1 and out == "" and "No orders under Failed." in err


@pytest.mark.parametrize("name", ["out-of-data", "Out of data", "depleted"])
def test_the_out_of_data_filter_is_named_as_the_screen_says_it(in_use, capsys, name):
    code, out, _ = run(capsys, *in_use, "orders", "find", "--status", name)
    # Past its validity, the other one out of data reads Expired (as the screen says it).
    assert code == 0 and _references(out) == ["ESIM-20261121-DRY00002"] and "Out of data" in out
    code, out, _ = run(capsys, *in_use, "orders", "find", "--status", "expired", "--json")
    assert [(r["client_reference"], r["state"], r["stage"]) for r in map(json.loads, out.splitlines())] == [
        ("ESIM-20261122-OVER0003", "Expired", "expired")]


def test_the_help_lists_the_filters_in_the_screens_words(capsys):
    with pytest.raises(SystemExit):
        main(["orders", "find", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    assert "out-of-data" in helped and "needs-attention" in helped and "depleted" not in helped
