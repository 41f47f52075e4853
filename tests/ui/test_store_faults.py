"""The order file in trouble, as the agent meets it: a full disk during a sale, a second esim-tui."""

from __future__ import annotations

import errno
import os

import pytest

from esim_tui.cli import main
from esim_tui.store.errors import StoreWriteFailed
from esim_tui.store.orders import OrderStore
from esim_tui.ui.context import sandbox_order_file
from esim_tui.config import load_settings
from esim_tui.ui.screens.catalogue import CatalogueScreen
from tests.conftest import make_sandbox
from tests.ui.conftest import ledger, make_app, sell_japan

pytestmark = pytest.mark.anyio


async def test_a_full_disk_before_the_sale_stops_it_with_a_clear_message_and_charges_nothing(tmp_path):
    sandbox = make_sandbox()
    app = make_app(tmp_path, sandbox)
    store = app.sales.store

    def disk_full(order):
        raise StoreWriteFailed(store.path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    async with app.run_test(size=(100, 30)) as pilot:
        store.save = disk_full  # the intent cannot be recorded, so nothing may be sent
        await sell_japan(pilot, app)
        assert isinstance(app.screen, CatalogueScreen)
        messages = [n.message for n in app._notifications]
        assert any("No space left on device" in m and str(store.path) in m for m in messages), messages
        assert await ledger(sandbox) == []
        assert app.orders == {}


def test_a_second_esim_tui_on_the_same_order_file_says_so_and_does_not_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ESIM_TUI_DB", str(tmp_path / "orders.json"))
    monkeypatch.delenv("ESIM_TUI_OCTOPUS_TOKEN", raising=False)
    monkeypatch.delenv("ESIM_TUI_ESIMGO_API_KEY", raising=False)
    monkeypatch.setattr("esim_tui.logs.configure_logging", lambda *a, **k: None)  # keep this process's logging as it is
    path = sandbox_order_file(load_settings(None, environ=dict(os.environ)))
    with OrderStore.open(path):  # the first esim-tui, still running
        assert main([]) == 1
        err = capsys.readouterr().err
        assert "is in use: another esim-tui is using it" in err and str(path) in err
        # Looking orders up still works while the first one runs.
        assert main(["orders"]) == 0
    assert path.exists()
