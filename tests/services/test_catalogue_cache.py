"""The destination list saved at each complete load and painted at the next start."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

from esim_tui.domain.destinations import GLOBAL, Region, country, region
from esim_tui.domain.money import Money
from esim_tui.domain.plans import ProviderName
from esim_tui.services.catalogue import Catalogue
from esim_tui.services.catalogue_cache import catalogue_file, read_index, save_index
from tests.store_helpers import sample_plan

SAVED_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
BOTH = ("esimgo", "octopus")


def catalogue() -> Catalogue:
    plans = [
        sample_plan(plan_id="jp-1", destination=country("JP"), price=Money(amount=Decimal("4.50"))),
        sample_plan(plan_id="jp-2", destination=country("JP"), price=Money(amount=Decimal("9.00")), provider=ProviderName.ESIMGO),
        sample_plan(plan_id="kr-1", destination=country("KR"), price=Money(amount=Decimal("6.125"))),
        sample_plan(plan_id="eu-1", destination=region(Region.EUROPE.code), price=Money(amount=Decimal("12")), coverage=("NO",)),
        sample_plan(plan_id="gl-1", destination=GLOBAL, price=Money(amount=Decimal("30")), coverage=("JP", "KR")),
    ]
    return Catalogue.build(plans)


def test_the_saved_list_reads_back_as_the_agent_saw_and_searched_it(tmp_path):
    built = catalogue()
    path = catalogue_file(tmp_path / "orders.json")
    save_index(path, built.index, BOTH, SAVED_AT)
    index, saved_at = read_index(path, ["octopus", "esimgo"])
    assert saved_at == SAVED_AT
    assert [line.cells for line in index.lines] == [line.cells for line in built.index.lines]
    # Japan's 2 plans and the global one covering it; Norway's line has only Europe's
    assert index.lines[0].cells == ("Japan", "JP JPN", "3", "4.50 USD", "eSIM Go, Octopus Cards")
    assert index.line("country:NO").cells == ("Norway", "NO NOR", "1", "12.00 USD", "Octopus Cards")
    for typed in ("jp", "JPN", "japan", "korea", "europe", "eur", "global", "world", "", "jpan"):
        assert [line.key for line in index.search(typed)] == [line.key for line in built.index.search(typed)], typed
    assert [line.code for line in index.search("south korea")] == ["KR"]
    assert index.plan_count == 5


def test_a_list_saved_for_other_providers_is_not_used(tmp_path):
    path = tmp_path / "orders.catalogue.json"
    save_index(path, catalogue().index, ["octopus"], SAVED_AT)
    assert read_index(path, BOTH) is None
    assert read_index(path, ["octopus"]) is not None


def test_a_missing_or_damaged_list_is_simply_not_used(tmp_path, caplog):
    path = tmp_path / "orders.catalogue.json"
    assert read_index(path, BOTH) is None
    save_index(path, catalogue().index, BOTH, SAVED_AT)
    good = path.read_text()
    damaged = [
        good[: len(good) // 2],  # cut short
        good.replace('"own_plan_count":2', '"own_plan_count":"2"'),  # a wrong type
        json.dumps({**json.loads(good), "format": 99}),  # another version's file
        "[]",
        "\xff\xfe",
    ]
    with caplog.at_level(logging.WARNING):
        for text in damaged:
            path.write_text(text, encoding="latin-1")
            assert read_index(path, BOTH) is None, text[:40]
    assert "is not used" in caplog.text


def test_saving_replaces_the_file_whole(tmp_path):
    path = tmp_path / "orders.catalogue.json"
    save_index(path, catalogue().index, BOTH, SAVED_AT)
    save_index(path, Catalogue.build([]).index, BOTH, SAVED_AT)
    index, _ = read_index(path, BOTH)
    assert len(index) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["orders.catalogue.json"]  # no temporary file left
