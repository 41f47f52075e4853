"""OrderStore.summaries: a few columns per order, cached beside each archive segment, never at the cost
of an order (a stale, damaged or missing summary is rebuilt from its segment)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from esim_tui.domain.orders import Order
from esim_tui.store import storage as storage_module
from esim_tui.store.orders import OrderStore
from tests.store import T0, failed, later, make_order

NOW = later(30)


class Labels:
    """A small summary: each order's id and customer label. Counts the orders it had to summarise."""

    def __init__(self, tag: str = "labels-1") -> None:
        self.tag = tag
        self.made: list[str] = []

    def make(self, orders: list[Order]) -> dict[str, Any]:
        self.made += [o.id for o in orders]
        return {"label": [o.customer_label for o in orders]}

    def read(self, ids: list[str], columns: dict[str, Any]) -> list[tuple[str, str]]:
        labels = columns["label"]
        if not isinstance(labels, list) or len(labels) != len(ids) or not all(isinstance(x, str) for x in labels):
            raise ValueError("not a column of labels")
        return list(zip(ids, labels))


def open_store(path: Path, *, read_only: bool = False) -> OrderStore:
    return OrderStore.open(path, clock=lambda: NOW, segment_capacity=2, read_only=read_only)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A store of 7 orders: 5 settled in three archive segments (2, 2, 1), 2 in play."""
    path = tmp_path / "data" / "orders.json"
    with open_store(path) as store:
        for n in range(1, 6):
            store.save(failed(n, created_at=T0))
        store.save(make_order(6))
        store.save(make_order(7))
    return path


def summary_file(path: Path, n: int) -> Path:
    return path.parent / f"orders-archive-{n:06d}.summary.json"


def expected(path: Path) -> list[tuple[str, str]]:
    with open_store(path, read_only=True) as store:
        return sorted((o.id, o.customer_label) for o in store.all())


def test_summaries_hold_every_order_and_are_written_private_without_codes(path: Path) -> None:
    labels = Labels()
    with open_store(path) as store:
        assert sorted(store.summaries(labels)) == expected(path)
    assert sorted(labels.made) == [f"ord-{n:08d}" for n in range(1, 8)]  # all read once, to build them
    for n in (1, 2, 3):
        file = summary_file(path, n)
        assert oct(stat.S_IMODE(file.stat().st_mode)) == "0o600"
        assert "LPA:" not in file.read_text()  # make_order's activation codes stay in the orders
    assert json.loads(summary_file(path, 3).read_text())["ids"] == ["ord-00000005"]


def test_up_to_date_summaries_spare_reading_the_segments(path: Path, monkeypatch) -> None:
    with open_store(path) as store:
        store.summaries(Labels())
    want = expected(path)
    reads: list[str] = []
    real = storage_module.read_json_file
    monkeypatch.setattr(storage_module, "read_json_file", lambda p: reads.append(p.name) or real(p))
    labels = Labels()
    with open_store(path, read_only=True) as store:
        assert sorted(store.summaries(labels)) == want
    assert reads == ["orders.json"]  # at open; then no segment at all
    assert sorted(labels.made) == ["ord-00000006", "ord-00000007"]  # the orders in play


def test_a_segment_written_later_is_summarised_afresh(path: Path) -> None:
    with open_store(path) as store:
        store.summaries(Labels())
    with open_store(path) as store:  # a session that does not list: its summary is now stale
        store.save(failed(3).model_copy(update={"customer_label": "Ana Lima"}))
    labels = Labels()
    with open_store(path) as store:
        found = dict(store.summaries(labels))
    assert found["ord-00000003"] == "Ana Lima"
    assert sorted(labels.made) == ["ord-00000003", "ord-00000004", "ord-00000006", "ord-00000007"]
    labels = Labels()
    with open_store(path) as store:  # and it was rewritten
        assert dict(store.summaries(labels))["ord-00000003"] == "Ana Lima"
    assert sorted(labels.made) == ["ord-00000006", "ord-00000007"]


def test_closing_refreshes_the_summaries_of_the_segments_it_wrote(path: Path) -> None:
    with open_store(path) as store:
        store.summaries(Labels())
        store.save(failed(1).model_copy(update={"customer_label": "Bo Li"}))  # segment 1
        store.save(failed(8, created_at=T0))  # segment 3
    labels = Labels()
    with open_store(path, read_only=True) as store:
        found = dict(store.summaries(labels))
    assert found["ord-00000001"] == "Bo Li" and "ord-00000008" in found
    assert sorted(labels.made) == ["ord-00000006", "ord-00000007"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: f.unlink(), id="missing"),
        pytest.param(lambda f: f.write_text("garbage"), id="not JSON"),
        pytest.param(lambda f: f.write_bytes(f.read_bytes()[:-20]), id="cut short"),
        pytest.param(lambda f: _edit(f, columns={"label": [1, 2]}), id="a column the reader refuses"),
        pytest.param(lambda f: _edit(f, columns={"label": ["x"]}), id="a column too short"),
        pytest.param(lambda f: _edit(f, ids=["ord-00000003", "ord-00000003"]), id="an id twice"),
        pytest.param(lambda f: _edit(f, ids=["ord-00000003", "made-up"]), id="an order left out"),
        pytest.param(lambda f: _edit(f, revs=[0, 0]), id="older revisions"),
        pytest.param(lambda f: _edit(f, fingerprint=[1, 2, 3]), id="another segment's"),
        pytest.param(lambda f: _edit(f, tag="labels-0"), id="made by another version"),
    ],
)
def test_a_damaged_or_stale_summary_is_rebuilt_and_no_order_is_lost(path: Path, damage) -> None:
    with open_store(path) as store:
        store.summaries(Labels())
    file = summary_file(path, 2)  # orders 3 and 4
    good = json.loads(file.read_text())
    damage(file)
    labels = Labels()
    with open_store(path, read_only=True) as reader:  # a reader rebuilds in memory, writes nothing
        assert sorted(reader.summaries(labels)) == expected(path)
    assert sorted(labels.made) == ["ord-00000003", "ord-00000004", "ord-00000006", "ord-00000007"]
    with open_store(path) as store:
        assert sorted(store.summaries(Labels())) == expected(path)
    assert json.loads(file.read_text()) == good  # rewritten as it was


def _edit(file: Path, **changes: Any) -> None:
    data = json.loads(file.read_text())
    data.update(changes)
    file.write_text(json.dumps(data))


def test_a_summary_row_of_an_order_since_moved_is_not_shown_twice(path: Path) -> None:
    with open_store(path) as store:
        store.summaries(Labels())
    # Order 3 is flagged for attention: back to the active file, out of segment 2. Its summary is made
    # to list it there still, as one written between the move's two writes would.
    file = summary_file(path, 2)
    stale = json.loads(file.read_text())
    with open_store(path) as store:
        store.save(failed(3).model_copy(update={"needs_attention": "check", "customer_label": "Cy"}))
    fp = json.loads(file.read_text())["fingerprint"]
    _edit(file, **{**stale, "fingerprint": fp})
    with open_store(path) as store:
        found = store.summaries(Labels())
    assert sorted(found) == expected(path) and ("ord-00000003", "Cy") in found


def test_the_stores_own_summary_temporaries_are_cleaned_at_start(path: Path) -> None:
    leftover = path.parent / ".orders-archive-000001.summary.json.k3j2h1.tmp"
    leftover.write_text('{"format": 1, "ta')
    with open_store(path):
        pass
    assert not leftover.exists()


def test_a_read_only_store_never_writes_a_summary(path: Path) -> None:
    before = sorted(os.listdir(path.parent))
    with open_store(path, read_only=True) as reader:
        assert sorted(reader.summaries(Labels())) == expected(path)
    assert sorted(os.listdir(path.parent)) == before
