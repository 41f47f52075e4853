"""OrderStore: what the ordering service and the screens rely on."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.money import Money
from esim_tui.domain.orders import ActivationStatus, InstallState, Order, OrderStatus
from esim_tui.store import storage as storage_module
from esim_tui.store.orders import (
    OrderStore,
    StoreCorrupt,
    StoreError,
    StoreInUse,
    StoreReadOnly,
    StoreWriteFailed,
)
from esim_tui.store.policy import KEEP_UNINSTALLED, SETTLE_AFTER_INSTALL, is_settled
from tests.store import T0, failed, file_state, installed, later, make_order


def clock_at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


def open_store(path: Path, *, now: datetime = T0, capacity: int = 500, read_only: bool = False) -> OrderStore:
    return OrderStore.open(path, clock=clock_at(now), segment_capacity=capacity, read_only=read_only)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "orders.json"


def segments(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("orders-archive-*.json") if not p.name.endswith(".index.json"))


def ids(orders) -> list[str]:
    return [o.id for o in orders]


# ---------------------------------------------------------------- records


def test_round_trip_of_a_realistic_order(path: Path) -> None:
    order = make_order(1)
    assert order.plan.destination.name == "Japan" and order.price.amount == Decimal("11.5625")
    with open_store(path) as store:
        store.save(order)
        assert store.get(order.id) == order
    with open_store(path) as store:
        again = store.get(order.id)
    assert again == order
    assert isinstance(again.price.amount, Decimal) and str(again.price.amount) == "11.5625"
    assert again.created_at.tzinfo is not None
    assert again.customer_label == "Mme Côte, room 12 — 東京"
    assert again.history == order.history and again.bundles == order.bundles
    # Money is a string on disk, never a float that would lose digits.
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["orders"][order.id]["price"] == {"amount": "11.5625", "currency": "USD"}


def test_save_inserts_then_replaces_by_id(path: Path) -> None:
    with open_store(path) as store:
        assert store.get("ord-00000001") is None
        store.save(make_order(1, status=OrderStatus.UNKNOWN, activation_code=None))
        delivered = make_order(1)
        delivered.note(later(0.01), "SHOWN")
        store.save(delivered)
        assert store.count() == 1
        assert store.get("ord-00000001") == delivered
    with open_store(path) as store:
        assert store.count() == 1 and store.get("ord-00000001") == delivered


def test_save_refuses_what_is_not_an_order(path: Path) -> None:
    with open_store(path) as store:
        with pytest.raises(TypeError):
            store.save(make_order(1).model_dump())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="id"):
            store.save(make_order(1, id=""))
        assert store.count() == 0


def test_lookups_by_reference_iccid_and_provider_order_id(path: Path) -> None:
    first = make_order(1, created_at=later(0))
    top_up = make_order(2, created_at=later(1), iccid=first.iccid)
    other = make_order(3, created_at=later(2))
    with open_store(path) as store:
        for order in (first, top_up, other):
            store.save(order)
        assert store.by_client_reference(first.client_reference) == first
        assert store.by_client_reference("ESIM-NOPE") is None
        assert ids(store.by_iccid(first.iccid)) == ["ord-00000002", "ord-00000001"]  # newest first
        assert store.by_iccid("8900000000000000000") == []
        assert store.by_provider_order_id(other.provider_order_id) == other
        # The provider reports a different ICCID later: the lookups follow the record.
        moved = top_up.model_copy(update={"iccid": "8944999999999999999"})
        store.save(moved)
        assert ids(store.by_iccid(first.iccid)) == ["ord-00000001"]
        assert ids(store.by_iccid("8944999999999999999")) == ["ord-00000002"]


def test_in_play_and_all_are_newest_first(path: Path) -> None:
    created = [3, 0, 5, 1, 4, 2]  # saved out of order
    with open_store(path, now=later(10)) as store:
        for n in created:
            store.save(make_order(n, created_at=later(n)))
        store.save(failed(9, created_at=later(2.5)))  # settled: in the archive, still in all()
        assert ids(store.in_play()) == [f"ord-{n:08d}" for n in (5, 4, 3, 2, 1, 0)]
        assert ids(store.all()) == [f"ord-{n:08d}" for n in (5, 4, 3, 9, 2, 1, 0)]
        assert store.count() == 7


# ---------------------------------------------------------------- the archive


def test_settled_orders_move_to_the_archive_and_stay_reachable(path: Path) -> None:
    folder = path.parent
    with open_store(path, now=later(30), capacity=3) as store:
        for n in range(1, 8):
            store.save(failed(n, created_at=later(n)))
        store.save(make_order(20, created_at=later(20)))
        assert segments(folder) == [f"orders-archive-00000{n}.json" for n in (1, 2, 3)]
        active = file_state(path)["orders"]
        assert list(active) == ["ord-00000020"]  # the active file holds only what is in play
        assert ids(store.in_play()) == ["ord-00000020"]
    with open_store(path, now=later(30), capacity=3) as store:
        assert store.count() == 8
        assert store.get("ord-00000001") == failed(1, created_at=later(1))
        assert store.by_client_reference(failed(4).client_reference).id == "ord-00000004"
        assert store.by_provider_order_id(failed(7).provider_order_id).id == "ord-00000007"
        assert ids(store.all())[:3] == ["ord-00000020", "ord-00000007", "ord-00000006"]


def test_archived_order_is_updated_in_place_and_comes_back_when_unsettled(path: Path) -> None:
    with open_store(path, now=later(30), capacity=3) as store:
        store.save(failed(1))
        active_before = path.stat().st_ino
        noted = failed(1).model_copy(update={"customer_label": "refund agreed"})
        store.save(noted)  # a rare support-desk change: stays in its segment
        assert path.stat().st_ino == active_before  # the active file was not rewritten
        assert store.get("ord-00000001") == noted
        flagged = noted.model_copy(update={"needs_attention": "Customer says the refund never came."})
        store.save(flagged)
        assert ids(store.in_play()) == ["ord-00000001"]
        assert "ord-00000001" not in file_state(path.parent / "orders-archive-000001.json")["orders"]
    with open_store(path, now=later(30), capacity=3) as store:
        assert store.get("ord-00000001") == flagged and store.count() == 1


def test_orders_settle_by_age_when_the_store_opens(path: Path) -> None:
    with open_store(path) as store:
        store.save(installed(1, installed_at=T0))
        store.save(make_order(2))  # delivered, never installed
        store.save(make_order(3, status=OrderStatus.UNKNOWN, activation_code=None))
    with open_store(path, now=T0 + SETTLE_AFTER_INSTALL / 2) as store:
        assert store.count() == 3 and len(store.in_play()) == 3
    with open_store(path, now=T0 + SETTLE_AFTER_INSTALL) as store:
        assert ids(store.in_play()) == ["ord-00000003", "ord-00000002"]
    with open_store(path, now=later(365)) as store:
        assert ids(store.in_play()) == ["ord-00000003", "ord-00000002"]  # its code may still be needed
    with open_store(path, now=T0 + KEEP_UNINSTALLED) as store:
        assert ids(store.in_play()) == ["ord-00000003"]  # UNKNOWN waits for reconciliation, forever
        assert store.count() == 3 and store.get("ord-00000002") == make_order(2)


def test_archive_settled_can_be_called_by_a_long_running_app(path: Path) -> None:
    now = [T0]
    with OrderStore.open(path, clock=lambda: now[0]) as store:
        store.save(installed(1, installed_at=T0))
        assert store.archive_settled() == 0
        now[0] = later(3)
        assert store.archive_settled() == 1
        assert store.in_play() == [] and store.get("ord-00000001") is not None


@pytest.mark.parametrize(
    ("changes", "settled"),
    [
        ({"status": OrderStatus.FAILED}, True),
        ({"status": OrderStatus.CANCELLED}, True),
        # Expired: kept a week after it ended, so Orders in play still lists it after a restart that day.
        ({"activation_status": ActivationStatus.EXPIRED, "updated_at": later(-1)}, False),
        ({"activation_status": ActivationStatus.EXPIRED, "updated_at": later(-8)}, True),
        ({"install_state": InstallState.UNAVAILABLE}, True),
        ({"install_state": InstallState.INSTALLED, "installed_at": later(-3)}, True),
        ({"install_state": InstallState.REMOVED, "installed_at": later(-3)}, True),
        ({"install_state": InstallState.INSTALLED, "installed_at": later(-1)}, False),
        ({"install_state": InstallState.DOWNLOADED}, False),
        ({}, False),  # delivered, not installed, young
        ({"created_at": later(-364)}, False),
        ({"created_at": later(-401)}, True),
        ({"status": OrderStatus.UNKNOWN, "created_at": later(-4000)}, False),
        ({"status": OrderStatus.PENDING, "created_at": later(-4000)}, False),
        ({"status": OrderStatus.FAILED, "needs_attention": "charged twice?"}, False),
    ],
)
def test_settlement_rule(changes: dict, settled: bool) -> None:
    assert is_settled(make_order(1).model_copy(update=changes), T0) is settled


def test_all_reads_each_archive_file_once_even_out_of_order(path: Path, monkeypatch) -> None:
    with open_store(path, now=later(100), capacity=2) as store:
        # Settled in an order unrelated to creation: each segment holds an old and a new order.
        for n in (7, 1, 11, 3, 9, 0, 5, 10, 2, 8, 4, 6):
            store.save(failed(n, created_at=later(n)))
    with open_store(path, now=later(100), capacity=2):
        pass  # writes the segments' index files, so opening reads none of the segments
    reads: list[str] = []
    real = storage_module.read_json_file
    monkeypatch.setattr(storage_module, "read_json_file", lambda p: reads.append(p.name) or real(p))
    with open_store(path, now=later(100), capacity=2, read_only=True) as store:
        assert reads == ["orders.json"]
        reads.clear()
        assert ids(store.all()) == [f"ord-{n:08d}" for n in range(11, -1, -1)]
    # Six segments, more than the store keeps parsed, each read once despite the interleaving.
    assert sorted(reads) == segments(path.parent) and len(reads) == 6


# ---------------------------------------------------------------- index files


def test_closing_indexes_the_segments_it_wrote(path: Path, monkeypatch) -> None:
    with open_store(path, now=later(30), capacity=2) as store:
        for n in range(1, 6):
            store.save(failed(n))
    assert sorted(p.name for p in path.parent.glob("*.index.json")) == [
        f"orders-archive-00000{n}.index.json" for n in (1, 2, 3)
    ]
    reads: list[str] = []
    real = storage_module.read_json_file
    monkeypatch.setattr(storage_module, "read_json_file", lambda p: reads.append(p.name) or real(p))
    with open_store(path, now=later(30), capacity=2) as store:
        assert store.count() == 5
    assert reads == ["orders.json"]  # no segment had to be read to open


def test_stale_or_damaged_index_files_are_rebuilt(path: Path) -> None:
    with open_store(path, now=later(30), capacity=2) as store:
        for n in range(1, 6):
            store.save(failed(n))
    with open_store(path, now=later(30), capacity=2):
        pass
    index = path.parent / "orders-archive-000001.index.json"
    assert index.exists()
    index.write_text('{"format": 1, "fingerprint": [1, 2, 3], "ids": ["made-up"]}')
    (path.parent / "orders-archive-000002.index.json").write_text("garbage")
    (path.parent / "orders-archive-000003.index.json").unlink()
    with open_store(path, now=later(30), capacity=2) as store:
        assert store.count() == 5 and store.get("made-up") is None
        assert store.get("ord-00000003") == failed(3)
    assert json.loads(index.read_text())["ids"] == ["ord-00000001", "ord-00000002"]


# ---------------------------------------------------------------- files, modes, temporaries


def test_file_and_folder_modes(path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with open_store(path, now=later(30), capacity=2) as store:
            store.save(make_order(1))
            store.save(failed(2))
        with open_store(path, now=later(30), capacity=2):
            pass
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    files = sorted(path.parent.iterdir())
    assert {p.name for p in files} >= {
        "orders.json",
        "orders.json.bak",
        "orders.json.lock",
        "orders-archive-000001.json",
        "orders-archive-000001.json.bak",
        "orders-archive-000001.index.json",
    }
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}


def test_a_file_readable_by_others_is_made_private(path: Path) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
    os.chmod(path, 0o644)
    with open_store(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_stale_temporary_files_are_cleaned_at_start(path: Path) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
    folder = path.parent
    leftovers = [".orders.json.x1y2z3.tmp", ".orders-archive-000004.json.abc_12.tmp", ".orders.json.bak.qq.tmp"]
    strangers = [".other.json.x1y2z3.tmp", "orders.json.tmp", "notes.txt"]
    for name in leftovers + strangers:
        (folder / name).write_text('{"orders": {"half')
    with open_store(path) as store:
        assert store.count() == 1
    remaining = {p.name for p in folder.iterdir()}
    assert not remaining & set(leftovers)
    assert set(strangers) <= remaining


# ---------------------------------------------------------------- one writer


def test_second_instance_is_refused_while_the_first_runs_and_allowed_after(path: Path) -> None:
    first = open_store(path)
    first.save(make_order(1))
    before = path.read_bytes()
    with pytest.raises(StoreInUse) as caught:
        open_store(path)
    err = caught.value
    assert isinstance(err, EsimTuiError)
    assert str(path) in err.what and "another esim-tui is using it" in err.what
    assert path.read_bytes() == before  # the refused instance touched nothing
    first.save(make_order(2))  # and the first goes on working
    first.close()
    with open_store(path) as second:
        assert second.count() == 2


def test_read_only_opening_works_while_locked_and_never_writes(path: Path) -> None:
    with open_store(path, now=later(30), capacity=2) as app:
        for n in range(1, 4):
            app.save(failed(n))
        app.save(make_order(9, needs_attention="check"))
        (path.parent / "orders-archive-000001.index.json").unlink(missing_ok=True)  # would be rebuilt if writing

        def snapshot() -> dict[str, tuple[int, int, int]]:
            return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) for p in path.parent.iterdir()}

        before = snapshot()
        with open_store(path, read_only=True, now=later(9999)) as reader:
            assert reader.count() == 4
            assert ids(reader.in_play()) == ["ord-00000009"]  # no settling on a read-only open
            assert reader.get("ord-00000002") == failed(2)
            assert len(list(reader.all())) == 4
            with pytest.raises(StoreReadOnly):
                reader.save(make_order(5))
            with pytest.raises(StoreReadOnly):
                reader.archive_settled()
        assert snapshot() == before
        app.save(make_order(10))  # the app was not disturbed


def test_read_only_open_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "orders.json"
    with open_store(path, read_only=True) as reader:
        assert reader.count() == 0 and reader.in_play() == [] and list(reader.all()) == []
    assert not path.parent.exists()


def test_read_only_reader_shows_its_open_time_and_follows_a_moved_order(path: Path) -> None:
    with open_store(path, now=later(30)) as app:
        app.save(failed(1))
        app.save(make_order(2))
    with open_store(path, now=later(30)) as app:  # the archive's index file is written now
        reader = open_store(path, read_only=True)
        try:
            app.save(make_order(2, status=OrderStatus.CANCELLED))
            assert reader.get("ord-00000002").status is OrderStatus.DELIVERED  # a snapshot as of open...
            flagged = failed(1).model_copy(update={"needs_attention": "charged twice?"})
            app.save(flagged)  # moved back to the active file after the reader indexed the archive
            assert reader.get("ord-00000001") == flagged  # ...except it finds orders that moved
        finally:
            reader.close()
        with open_store(path, read_only=True) as again:
            assert again.get("ord-00000002").status is OrderStatus.CANCELLED


def test_calls_from_many_threads_are_serialised(path: Path) -> None:
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for n in range(base, base + 15):
                order = make_order(n, created_at=later(n / 1000))
                store.save(order)
                store.save(failed(n, created_at=later(n / 1000)) if n % 3 == 0 else order)
                assert store.get(order.id) is not None
                store.in_play()
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    with open_store(path, now=later(1), capacity=7) as store:
        threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count() == 90
    with open_store(path, now=later(1), capacity=7) as store:
        assert store.count() == 90
        assert len(store.in_play()) == 60
        assert len(set(ids(store.all()))) == 90


def test_closed_store_refuses_calls(path: Path) -> None:
    store = open_store(path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        store.get("x")
    with pytest.raises(RuntimeError, match="closed"):
        store.save(make_order(1))


# ---------------------------------------------------------------- damage


def test_corrupt_active_file_stops_the_app_naming_file_and_backup(path: Path) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
    bak = path.with_name("orders.json.bak")
    assert file_state(bak)["orders"]["ord-00000001"]["id"] == "ord-00000001"
    damaged = path.read_bytes()[:-40]  # cut short
    path.write_bytes(damaged)
    with pytest.raises(StoreCorrupt) as caught:
        open_store(path)
    err = caught.value
    assert isinstance(err, EsimTuiError)
    assert err.path == path and err.backup == bak
    assert str(path) in err.what and str(bak) in err.what and err.todo
    assert path.read_bytes() == damaged  # never reset to an empty store
    assert file_state(bak)["orders"]  # the good copy is intact
    # The lock was released: once the file is restored, the app starts.
    os.replace(bak, path)
    with open_store(path) as store:
        assert store.get("ord-00000001") == make_order(1)


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_vanished_active_file_is_not_taken_for_a_new_store(path: Path, how: str) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
    if how == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()
    with pytest.raises(StoreCorrupt, match="missing or empty"):
        open_store(path)
    assert not path.exists() or path.read_bytes() == b""


def test_corrupt_archive_segment_names_itself_and_its_backup(path: Path) -> None:
    with open_store(path, now=later(30), capacity=2) as store:
        for n in range(1, 5):
            store.save(failed(n))
    with open_store(path, now=later(30), capacity=2):
        pass  # index files and segment backups now exist
    segment = path.parent / "orders-archive-000002.json"
    segment.write_text('{"orders": {"ord-00000003": {"id": ')
    with pytest.raises(StoreCorrupt) as caught:
        open_store(path, now=later(30), capacity=2)
    assert caught.value.path == segment
    assert caught.value.backup == path.parent / "orders-archive-000002.json.bak"
    with pytest.raises(StoreCorrupt):
        open_store(path, read_only=True)


def test_deleted_archive_segment_is_noticed(path: Path) -> None:
    with open_store(path, now=later(30), capacity=2) as store:
        for n in range(1, 5):
            store.save(failed(n))
    with open_store(path, now=later(30), capacity=2):
        pass
    (path.parent / "orders-archive-000001.json").unlink()
    with pytest.raises(StoreCorrupt, match="missing"):
        open_store(path)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [("price", {"amount": "lots"}, "not a valid order record"), ("id", "ord-99999999", "filed as 'ord-00000001'")],
)
def test_a_record_that_is_not_an_order_is_reported_not_skipped(path: Path, field: str, value, why: str) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
    data = json.loads(path.read_text())
    data["orders"]["ord-00000001"][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(StoreCorrupt, match=why) as caught:
        open_store(path)
    assert "LPA:" not in str(caught.value)  # the message never carries the activation code


# ---------------------------------------------------------------- failed writes


@pytest.mark.parametrize("call", ["write", "fsync", "replace"])
def test_disk_full_on_save_is_reported_and_keeps_the_old_data(path: Path, monkeypatch, call: str) -> None:
    with open_store(path) as store:
        store.save(make_order(1))
        before = path.read_bytes()

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, call, full)
        with pytest.raises(StoreWriteFailed) as caught:
            store.save(make_order(2))
        with pytest.raises(StoreWriteFailed):
            store.save(make_order(1, customer_label="changed"))
        monkeypatch.undo()
        assert isinstance(caught.value, StoreError) and "No space left" in caught.value.what
        assert path.read_bytes() == before
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
        # The store still tells the truth, and works once space is back.
        assert store.get("ord-00000002") is None and store.count() == 1
        assert store.get("ord-00000001") == make_order(1)
        store.save(make_order(2))
    with open_store(path) as store:
        assert store.count() == 2


def test_an_interrupted_move_leaves_two_copies_and_the_newer_wins(path: Path) -> None:
    """The move writes the archive first, then drops the active copy: simulate a crash in between."""
    with open_store(path, now=later(30)) as store:
        store.save(make_order(1))
        store.save(make_order(2))
    in_play = json.loads(path.read_text())
    with open_store(path, now=later(30)) as store:
        store.save(failed(1))
    os.chmod(path, 0o600)
    path.write_text(json.dumps(in_play))  # the active file as it was before the move's second write
    with open_store(path, now=later(30), read_only=True) as reader:
        assert reader.get("ord-00000001") == failed(1) and reader.count() == 2
        assert ids(reader.in_play()) == ["ord-00000002"]
    with open_store(path, now=later(30)) as store:
        assert store.get("ord-00000001") == failed(1) and store.count() == 2
        assert list(file_state(path)["orders"]) == ["ord-00000002"]  # the stale copy is gone
