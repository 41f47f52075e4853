"""AtomicJSONStorage: the TinyDB storage that never leaves a half-written file."""

from __future__ import annotations

import errno
import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinydb import TinyDB
from tinydb.storages import JSONStorage

from esim_tui.store.errors import StoreCorrupt, StoreReadOnly, StoreWriteFailed
from esim_tui.store.storage import AtomicJSONStorage, atomic_write, remove_stale_temporaries
from tests.store import Crash, fail_at, file_state

def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


OLD = {"orders": {str(i): {"id": str(i), "note": "x" * 300, "_rev": i} for i in range(1, 40)}}
# Shorter than OLD, as when an order shrinks: an in-place writer would leave OLD's tail behind.
NEW = {"orders": {"1": {"id": "1", "note": "short", "_rev": 99}}}


# ---------------------------------------------------------------- reading


def test_missing_and_empty_file_read_as_none(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    assert AtomicJSONStorage(path).read() is None
    path.write_bytes(b"")
    assert AtomicJSONStorage(path).read() is None


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"orders": {"1": {"id": "1"}}}{"orders"', "not valid JSON"),  # the stock storage's "Extra data"
        (b'{"orders": {"1": {"id": "1"', "not valid JSON"),  # a half-written file
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not an esim-tui order file"),
        (b'{"orders": {"1": "not a document"}}', "not an esim-tui order file"),
        (b"   ", "not valid JSON"),
    ],
)
def test_invalid_file_is_reported_with_file_and_backup_never_read_as_empty(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "orders.json"
    path.write_bytes(content)
    (tmp_path / "orders.json.bak").write_bytes(b'{"orders": {}}')
    with pytest.raises(StoreCorrupt) as caught:
        AtomicJSONStorage(path).read()
    err = caught.value
    assert why in str(err)
    assert str(path) in err.what and str(tmp_path / "orders.json.bak") in err.what
    assert err.backup == tmp_path / "orders.json.bak"
    assert path.read_bytes() == content  # reading never repairs or resets anything


def test_unreadable_file_is_corrupt_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.mkdir()  # opening it fails with an OSError, like a permission or I/O error would
    with pytest.raises(StoreCorrupt, match="cannot be opened") as caught:
        AtomicJSONStorage(path).read()
    assert caught.value.backup is None
    assert "no earlier good copy" in caught.value.what


# ---------------------------------------------------------------- writing


def test_tinydb_round_trip_utf8_and_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    old_umask = os.umask(0o022)  # the usual umask, under which TinyDB's own storage makes 0644 files
    try:
        with TinyDB(path, storage=AtomicJSONStorage) as db:
            db.table("orders").insert({"name": "Côte d'Ivoire, 東京", "price": "12.50"})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "東京".encode() in path.read_bytes()  # UTF-8 on disk, whatever the locale
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        assert db.table("orders").all() == [{"name": "Côte d'Ivoire, 東京", "price": "12.50"}]
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("value", [{1, 2}, Decimal("1.5"), float("nan"), object()])
def test_unserialisable_value_fails_before_any_file_io(tmp_path: Path, value: object, monkeypatch) -> None:
    path = tmp_path / "orders.json"
    storage = AtomicJSONStorage(path)
    storage.write(OLD)
    before = path.read_bytes()
    with fail_at(None) as calls, pytest.raises((TypeError, ValueError)):
        storage.write({"orders": {"1": {"id": "1", "bad": value, "_rev": 7}}})
    assert calls == []  # not even a temporary file was opened
    assert path.read_bytes() == before
    assert storage.read() == OLD  # the cache did not keep the refused data


def test_read_only_storage_refuses_to_write(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    with pytest.raises(StoreReadOnly):
        AtomicJSONStorage(path, read_only=True).write(NEW)
    assert not path.exists()


@pytest.mark.parametrize("call", ["write", "fsync", "replace"])
def test_disk_full_raises_store_write_failed_and_keeps_old_data(tmp_path: Path, monkeypatch, call: str) -> None:
    path = tmp_path / "orders.json"
    storage = AtomicJSONStorage(path)
    storage.write(OLD)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, call, full)
    with pytest.raises(StoreWriteFailed) as caught:
        storage.write(NEW)
    monkeypatch.undo()
    assert caught.value.cause.errno == errno.ENOSPC
    assert "No space left on device" in caught.value.what and str(path) in caught.value.what
    assert path.read_bytes() == before
    assert temporaries(tmp_path) == []
    assert storage.read() == OLD  # re-read from disk, not the data that failed to land


def steps_of_one_write(tmp_path: Path) -> int:
    probe = tmp_path / "probe.json"
    AtomicJSONStorage(probe).write(OLD)
    with fail_at(None) as calls:
        AtomicJSONStorage(probe).write(NEW)
    return len(calls)


def test_crash_at_every_step_leaves_old_or_new_content(tmp_path: Path) -> None:
    total = steps_of_one_write(tmp_path)
    assert total >= 8  # open, write, fsync, close, replace, open dir, fsync dir, close dir
    outcomes = []
    for step in range(total + 1):
        path = tmp_path / f"orders-{step}.json"
        AtomicJSONStorage(path).write(OLD)
        with fail_at(step):
            try:
                AtomicJSONStorage(path).write(NEW)
            except StoreWriteFailed:
                pass
        state = file_state(path)  # raises if the file does not parse
        assert state in (OLD, NEW), f"crash at step {step}"
        outcomes.append("new" if state == NEW else "old")
    # Before the rename the old content survives; from the rename on, the new one does.
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert outcomes == sorted(outcomes, key=["old", "new"].index)


def test_negative_control_stock_json_storage_is_caught_corrupt(tmp_path: Path) -> None:
    """The same crash-at-every-step check fails TinyDB's JSONStorage: the checker can see corruption."""
    corrupt_steps = []
    for step in range(6):
        path = tmp_path / f"stock-{step}.json"
        with TinyDB(path) as db:  # JSONStorage
            db.storage.write(OLD)
        with TinyDB(path) as db, fail_at(step):
            try:
                db.storage.write(NEW)
            except Crash:
                pass
        try:
            file_state(path)
        except json.JSONDecodeError:
            corrupt_steps.append(step)
    # Killed after its fsync and before its truncate, the stock storage leaves NEW + the tail of OLD.
    assert corrupt_steps, "the checker never saw the stock storage's corruption"


def test_negative_control_half_written_stock_file_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "stock.json"
    with TinyDB(path) as db:
        db.storage.write(NEW)
    whole = json.dumps(OLD).encode()  # a bigger database being written over the small one...
    with path.open("r+b") as f:
        f.write(whole[: len(whole) // 2])  # ...and the process killed halfway through its write
    with pytest.raises(json.JSONDecodeError):
        file_state(path)
    with pytest.raises(StoreCorrupt):
        AtomicJSONStorage(path).read()


def open_descriptors_to(path: Path) -> list[int]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                out.append(int(fd))
        except OSError:
            pass
    return out


def test_storage_keeps_no_handle_and_reads_by_path(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    storage = AtomicJSONStorage(path, cache=False)
    storage.write(OLD)
    assert storage.read() == OLD
    assert open_descriptors_to(path) == []
    # Replaced behind its back (another atomic write): it reads the new file, not a stale inode.
    atomic_write(path, json.dumps(NEW).encode())
    assert storage.read() == NEW


def test_remove_stale_temporaries_removes_only_ours(tmp_path: Path) -> None:
    ours = [".orders.json.k3j2h1_x.tmp", ".orders-archive-000001.json.abc.tmp"]
    others = [".other.json.abc.tmp", "notes.tmp", ".orders.json.bak", "orders.json"]
    for name in ours + others:
        (tmp_path / name).write_text("x")
    owned = {"orders.json", "orders-archive-000001.json"}
    removed = remove_stale_temporaries(tmp_path, owned.__contains__)
    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


# ---------------------------------------------------------------- only changed documents are re-encoded

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
documents = st.dictionaries(st.text(max_size=5), json_values, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "c", "é\"\\"]), documents | st.none(), min_size=1, max_size=3),
        min_size=1,
        max_size=4,
    )
)
def test_file_always_holds_exactly_the_data_written(tmp_path: Path, steps) -> None:
    """Documents with a ``_rev`` are encoded once per revision; the file must still equal the data."""
    path = tmp_path / "prop.json"
    path.unlink(missing_ok=True)
    storage = AtomicJSONStorage(path)
    current: dict[str, dict] = {}
    for n, changes in enumerate(steps):
        for doc_id, doc in changes.items():
            if doc is None:
                current.pop(doc_id, None)
            else:
                doc = dict(doc)
                doc.pop("_rev", None)  # only a real revision stamp may carry that name
                if n % 2 == 0:
                    doc["_rev"] = n * 10 + len(current)  # a new revision with every change
                current[doc_id] = doc
        data = {"orders": dict(current), "_default": {}}
        storage.write(data)
        assert json.loads(path.read_bytes()) == data
        assert AtomicJSONStorage(path).read() == data
