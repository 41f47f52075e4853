"""The store's own guard: a save never drops or replaces a stored activation code (besides Order.merge)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from esim_tui.domain.orders import InstallState, OrderStatus
from esim_tui.domain.plans import ProviderName
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from esim_tui.services.ordering import Sales
from esim_tui.store.errors import ActivationCodeKept
from esim_tui.store.orders import OrderStore
from tests.conftest import make_sandbox
from tests.store import later, make_order
from tests.store_helpers import sample_plan

NOW = later(30)
OTHER_CODE = "LPA:1$smdp.example.com$99999999-ZZZZ-YYYY"


def open_store(path: Path) -> OrderStore:
    return OrderStore.open(path, clock=lambda: NOW, segment_capacity=2)


def files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.name.endswith(".json")}


@pytest.mark.parametrize("replacement", [None, OTHER_CODE], ids=["without a code", "with another code"])
def test_a_copy_that_would_lose_the_code_is_refused_and_nothing_is_written(tmp_path: Path, replacement) -> None:
    path = tmp_path / "orders.json"
    delivered = make_order(1)
    with open_store(path) as store:
        store.save(delivered)
        before = files(tmp_path)
        stale = delivered.model_copy(update={"activation_code": replacement, "customer_label": "edited"})
        with pytest.raises(ActivationCodeKept) as refused:
            store.save(stale)
        assert store.get(delivered.id) == delivered
        assert files(tmp_path) == before
    assert delivered.activation_code not in str(refused.value)  # messages reach logs and screens
    assert refused.value.order_id == delivered.id and refused.value.replaced is (replacement is not None)
    assert "never dropped or replaced" in refused.value.what
    with open_store(path) as store:
        assert store.get(delivered.id) == delivered


def test_an_archived_order_is_guarded_too(tmp_path: Path) -> None:
    installed = make_order(1, install_state=InstallState.INSTALLED, installed_at=later(1))
    with open_store(tmp_path / "orders.json") as store:
        store.save(installed)
        assert store.in_play() == []  # settled: in the archive
        with pytest.raises(ActivationCodeKept):
            store.save(installed.model_copy(update={"activation_code": None}))
        assert store.get(installed.id) == installed


def test_saves_that_keep_or_add_the_code_go_through(tmp_path: Path) -> None:
    with open_store(tmp_path / "orders.json") as store:
        intent = make_order(1, status=OrderStatus.UNKNOWN, activation_code=None, iccid=None)
        store.save(intent)
        store.save(intent.model_copy(update={"customer_label": "no code yet, still none"}))
        delivered = make_order(1)
        store.save(delivered)  # the first code
        shown = delivered.model_copy(update={"shown_at": NOW, "install_state": InstallState.INSTALLED})
        store.save(shown)  # same code, other changes
        assert store.get(delivered.id) == shown


@pytest.mark.anyio
async def test_sales_working_from_a_stale_copy_cannot_erase_the_code(tmp_path: Path) -> None:
    """Two workers hold copies of one order; the one without the code cannot erase it from the record."""
    sandbox = make_sandbox()
    provider = OctopusCards(IN_PROCESS_URL, SecretStr("sandbox"), transport=sandbox_transport(sandbox))
    with OrderStore.open(tmp_path / "orders.json") as store:
        sales = Sales({ProviderName.OCTOPUS: provider}, store)
        intent = await sales.open_sale(sample_plan(), None)
        delivered = await sales.place(intent)
        assert delivered.activation_code
        # "Check this order" from the copy taken before the answer: Sales starts from the record on file.
        refreshed = await sales.refresh(intent)
        assert refreshed.activation_code == delivered.activation_code
        assert store.get(intent.id).activation_code == delivered.activation_code
        with pytest.raises(ActivationCodeKept):
            store.save(intent)  # and the store itself refuses the stale copy
        assert (await sales.mark_shown(delivered)).activation_code == delivered.activation_code
    await provider.aclose()
