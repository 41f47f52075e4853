"""The in-process sandbox remembers its world across restarts: what a trainee relies on after quitting.

Each test sells on a sandbox with a state file, drops it, builds a new one from the same file and
asks again, through the adapters as the app does.
"""

from __future__ import annotations

import json
import logging
import stat
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from esim_tui import jsonnum
from esim_tui.domain.orders import ActivationStatus, BundleState, InstallState, OrderStatus
from esim_tui.providers.esimgo import EsimGo
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox import app as sandbox_app
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport, state_file_beside
from tests.conftest import T0, make_sandbox
from tests.store_helpers import order_for

pytestmark = pytest.mark.anyio

NL = "esim_1GB_7D_NL_V2"
NL_3GB = "esim_3GB_30D_NL_V2"


def restartable(path: Path, **overrides) -> Sandbox:
    """A test sandbox (frozen at T0 unless told) that keeps its world in ``path``."""
    sandbox = make_sandbox(**overrides)
    return Sandbox(sandbox.config, state_file=path)


def octopus_on(sandbox: Sandbox) -> OctopusCards:
    return OctopusCards(IN_PROCESS_URL, SecretStr("sandbox"), transport=sandbox_transport(sandbox))


def esimgo_on(sandbox: Sandbox) -> EsimGo:
    return EsimGo(IN_PROCESS_URL + "/v2.4", SecretStr("sandbox"), transport=sandbox_transport(sandbox))


async def control(sandbox: Sandbox, method: str, path: str, json: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        response = await client.request(method, path, json=json)
    assert response.status_code == 200, response.text
    return response


async def ledger(sandbox: Sandbox) -> dict:
    return (await control(sandbox, "GET", "/_sandbox/ledger")).json()


async def sandbox_now(sandbox: Sandbox) -> str:
    return (await control(sandbox, "GET", "/_sandbox/clock")).json()["now"]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "orders-sandbox-state.json"


def test_the_state_file_sits_beside_the_sandbox_order_file(tmp_path: Path) -> None:
    assert state_file_beside(tmp_path / "orders-sandbox.json") == tmp_path / "orders-sandbox-state.json"


async def test_an_octopus_sale_is_still_known_after_a_restart(state: Path) -> None:
    before = restartable(state)
    octopus = octopus_on(before)
    plan = next(p for p in await octopus.plans() if p.plan_id == "5511")
    placed = await octopus.place_order(plan, "TRIP_TOKYO_OCT")
    record = order_for(plan, "TRIP_TOKYO_OCT").merge(placed, placed.created_at)
    await control(before, "POST", f"/_sandbox/esims/{placed.iccid}/install")
    await control(before, "POST", f"/_sandbox/esims/{placed.iccid}/usage", {"bytes": 250_000_000})
    await control(before, "POST", "/_sandbox/clock", {"advance_seconds": 86400})
    status_before = await octopus.esim_status(record)
    ledger_before, now_before = await ledger(before), await sandbox_now(before)
    await octopus.aclose()
    del before, octopus

    after = restartable(state)
    octopus = octopus_on(after)
    again = await octopus.get_order(placed.provider_order_id)
    assert (again.status, again.iccid, again.client_reference) == (OrderStatus.DELIVERED, placed.iccid, "TRIP_TOKYO_OCT")
    status = await octopus.esim_status(record)
    assert status == status_before
    assert (status.install_state, status.activation_status) == (InstallState.INSTALLED, ActivationStatus.ACTIVE)
    assert status.activation_code is None  # burnt on install, and stays burnt
    assert await ledger(after) == ledger_before
    assert ledger_before["octopus"]["charges"][0]["amount"] == "4.275"
    assert await sandbox_now(after) == now_before == (T0 + timedelta(days=1)).isoformat()
    assert after.providers["octopus"]._orders[int(placed.provider_order_id)].used_bytes == 250_000_000
    found = await octopus.find_order(order_for(plan, "TRIP_TOKYO_OCT"))
    assert found is not None and found.provider_order_id == placed.provider_order_id

    # Life goes on: the reference is still taken, and the next order gets the next id.
    from esim_tui.domain.errors import DuplicateReference

    with pytest.raises(DuplicateReference):
        await octopus.place_order(plan, "TRIP_TOKYO_OCT")
    nxt = await octopus.place_order(plan, "TRIP_TOKYO_NOV")
    assert int(nxt.provider_order_id) == int(placed.provider_order_id) + 1 and nxt.iccid != placed.iccid
    await octopus.aclose()


async def test_an_esimgo_sale_its_top_up_data_and_refund_survive_a_restart(state: Path) -> None:
    before = restartable(state)
    esimgo = esimgo_on(before)
    plans = {p.plan_id: p for p in await esimgo.plans()}
    sale = await esimgo.place_order(plans[NL], "SALE")
    record = order_for(plans[NL], "SALE").merge(sale, T0)
    await esimgo.place_order(plans[NL_3GB], "TOPUP", iccid=sale.iccid)
    await control(before, "POST", f"/_sandbox/esims/{sale.iccid}/usage", {"bytes": 300_000_000})
    refunded = await esimgo.refund(record, NL_3GB)
    assert refunded.amount is not None
    status_before = await esimgo.esim_status(record)
    ledger_before = await ledger(before)
    await esimgo.aclose()

    after = restartable(state)
    esimgo = esimgo_on(after)
    again = await esimgo.get_order(sale.provider_order_id)
    assert (again.status, again.iccid, again.activation_code) == (OrderStatus.DELIVERED, sale.iccid, sale.activation_code)
    status = await esimgo.esim_status(record)
    assert status == status_before
    assert status.install_state is InstallState.INSTALLED
    first, topped = status.bundles
    assert (first.bundle_name, first.state, first.remaining_bytes) == (NL, BundleState.ACTIVE, 700_000_000)
    assert (topped.bundle_name, topped.state) == (NL_3GB, BundleState.REVOKED)
    assert await ledger(after) == ledger_before
    assert [r["bundle"] for r in ledger_before["esimgo"]["refunds"]] == [NL_3GB]
    # The same unit cannot be refunded twice, restart or not.
    check = await esimgo.check_refund(record, NL_3GB)
    assert not check.refundable and "already revoked" in check.reason
    # The random generator carries on: a new sale is a new order and a new eSIM, never a repeat.
    other = await esimgo.place_order(plans[NL], "SALE-2")
    assert other.provider_order_id != sale.provider_order_id and other.iccid != sale.iccid
    await esimgo.aclose()


@pytest.mark.parametrize(("provider", "adapter_on", "plan_id"), [("octopus", octopus_on, "5511"), ("esimgo", esimgo_on, NL)])
async def test_a_pending_order_is_still_pending_after_a_restart_and_delivers_later(state: Path, provider, adapter_on, plan_id) -> None:
    before = restartable(state)
    await control(before, "POST", "/_sandbox/faults", {"provider": provider, "endpoint": "create_order", "kind": "pending", "seconds": 45})
    adapter = adapter_on(before)
    plan = next(p for p in await adapter.plans() if p.plan_id == plan_id)
    placed = await adapter.place_order(plan, "LATER")
    assert placed.status is OrderStatus.PENDING
    await adapter.aclose()

    after = restartable(state)
    adapter = adapter_on(after)
    assert (await adapter.get_order(placed.provider_order_id)).status is OrderStatus.PENDING
    await control(after, "POST", "/_sandbox/clock", {"advance_seconds": 46})
    done = await adapter.get_order(placed.provider_order_id)
    assert done.status is OrderStatus.DELIVERED and done.iccid and done.activation_code
    await adapter.aclose()


async def test_booked_faults_are_still_booked_after_a_restart(state: Path) -> None:
    before = restartable(state)
    await control(before, "POST", "/_sandbox/faults", {"provider": "esimgo", "endpoint": "create_order", "kind": "error_503", "count": 2})
    after = restartable(state)
    assert (await control(after, "GET", "/_sandbox/faults")).json()["faults"] == [
        {"provider": "esimgo", "endpoint": "create_order", "kind": "error_503", "count": 2}
    ]


async def test_simulated_time_carries_on_while_the_app_is_closed_and_never_goes_back(state: Path, monkeypatch) -> None:
    wall = [T0]
    monkeypatch.setattr(sandbox_app, "_wall_clock", lambda: wall[0])
    before = restartable(state, speed=0.0)
    await control(before, "POST", "/_sandbox/clock", {"advance_seconds": 7 * 86400})
    saved = jsonnum.loads(state.read_bytes())["clock"]
    assert saved["now"] == (T0 + timedelta(days=7)).isoformat()

    wall[0] = T0 + timedelta(hours=5)  # frozen time stays frozen while closed
    assert await sandbox_now(restartable(state, speed=0.0)) == (T0 + timedelta(days=7)).isoformat()

    # A clock running at real speed keeps running while the app is closed (as a real provider's
    # would), so the app's own clock and the sandbox's still agree after the restart.
    state.write_bytes(state.read_bytes().replace(b'"speed":0.0', b'"speed":1.0'))
    after = restartable(state, speed=0.0)
    assert await sandbox_now(after) == (T0 + timedelta(days=7, hours=5)).isoformat()

    wall[0] = T0 - timedelta(days=30)  # the machine's clock was set back: simulated time does not follow
    assert await sandbox_now(restartable(state, speed=0.0)) == (T0 + timedelta(days=7)).isoformat()


async def test_the_file_is_private_written_whole_and_only_when_the_world_changes(state: Path) -> None:
    sandbox = restartable(state)
    esimgo = esimgo_on(sandbox)
    plans = await esimgo.plans()
    assert not state.exists()  # browsing the catalogue changes nothing
    await esimgo.place_order(next(p for p in plans if p.plan_id == NL), "SALE")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert [p.name for p in state.parent.iterdir()] == [state.name]  # no temporary file left behind
    written = state.stat().st_mtime_ns
    document = json.loads(state.read_text())
    assert document["format"] == "esim-tui sandbox state" and document["seed"] == sandbox.config.seed
    assert "catalogue" not in json.dumps(document)
    await ledger(sandbox)
    await esimgo.get_order(document["providers"]["esimgo"]["orders"][0]["reference"])
    assert state.stat().st_mtime_ns == written
    assert sandbox.save() is False
    await esimgo.aclose()


async def test_money_in_the_file_is_exact(state: Path) -> None:
    sandbox = restartable(state)
    octopus = octopus_on(sandbox)
    await octopus.place_order(next(p for p in await octopus.plans() if p.plan_id == "5511"), "EXACT")
    await octopus.aclose()
    account = jsonnum.loads(state.read_bytes())["providers"]["octopus"]["account"]
    assert account["charges"][0]["amount"] == Decimal("4.275") and account["balance"] == Decimal("4995.725")
    assert b"4.275" in state.read_bytes()
    restored = restartable(state).providers["octopus"].account
    assert restored.balance == Decimal("4995.725") and type(restored.charges[0].amount) is Decimal


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "esim-tui sandbox state", "version": 1, "se',  # cut short
        b"\xff\xfe not even text",
        b'["a list"]',
        b'{"format": "esim-tui sandbox state", "version": 99}',
        b'{"format": "esim-tui sandbox state", "version": 1, "seed": 2026}',  # missing everything
    ],
    ids=["truncated", "binary", "not-a-state", "newer-version", "incomplete"],
)
async def test_an_unreadable_state_file_gives_a_fresh_sandbox_and_is_kept_aside(state: Path, content: bytes, caplog) -> None:
    state.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="esim_tui.sandbox.persist"):
        sandbox = restartable(state)
    assert not state.exists()
    [aside] = [p for p in state.parent.iterdir() if p.name.startswith(state.name + ".bad-")]
    assert aside.read_bytes() == content  # kept, not deleted
    assert any("starts fresh" in r.getMessage() and str(aside) in r.getMessage() for r in caplog.records)
    ledger_now = await ledger(sandbox)
    assert ledger_now["octopus"]["charges"] == [] and ledger_now["octopus"]["balance"] == "5000.00"
    # The fresh sandbox sells and saves as usual.
    octopus = octopus_on(sandbox)
    await octopus.place_order(next(p for p in await octopus.plans() if p.plan_id == "5511"), "FRESH")
    await octopus.aclose()
    assert state.exists() and aside.read_bytes() == content


async def test_a_state_that_names_bundles_the_catalogue_lacks_is_set_aside(state: Path) -> None:
    before = restartable(state)
    esimgo = esimgo_on(before)
    await esimgo.place_order(next(p for p in await esimgo.plans() if p.plan_id == NL), "SALE")
    await esimgo.aclose()
    state.write_bytes(state.read_bytes().replace(NL.encode(), b"esim_NO_SUCH_BUNDLE"))
    after = restartable(state)
    assert after.providers["esimgo"].account.charges == []
    assert [p.name.startswith(state.name + ".bad-") for p in state.parent.iterdir()] == [True]


async def test_a_state_made_with_another_seed_is_set_aside(state: Path) -> None:
    before = restartable(state)
    await control(before, "POST", "/_sandbox/clock", {"advance_seconds": 60})
    after = restartable(state, seed=7)
    assert await sandbox_now(after) == T0.isoformat()
    assert not state.exists()


async def test_a_state_file_that_cannot_be_written_leaves_the_sandbox_working(tmp_path: Path, caplog) -> None:
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("a file where the folder should be")
    sandbox = restartable(not_a_folder / "state.json")
    octopus = octopus_on(sandbox)
    with caplog.at_level(logging.WARNING, logger="esim_tui.sandbox.persist"):
        placed = await octopus.place_order(next(p for p in await octopus.plans() if p.plan_id == "5511"), "STILL-SELLS")
        assert (await octopus.get_order(placed.provider_order_id)).status is OrderStatus.DELIVERED
        await control(sandbox, "POST", f"/_sandbox/esims/{placed.iccid}/install")
    await octopus.aclose()
    assert ["Could not save the sandbox state" in r.getMessage() for r in caplog.records] == [True]  # said once


def test_without_a_state_file_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    sandbox = make_sandbox()
    assert sandbox.state_file is None and sandbox.save() is False
    assert list(tmp_path.iterdir()) == []


async def test_every_kind_of_change_is_written_and_comes_back_whole(state: Path) -> None:
    """Each step below changes the world in its own way; each must reach the file, and a sandbox
    restarted from it must hold exactly the same world."""
    sandbox = restartable(state)
    octo = {"Authorization": "Bearer sandbox"}
    go = {"X-API-Key": "sandbox"}
    seen: list[bytes] = []

    def written() -> bytes:
        document = jsonnum.loads(state.read_bytes())
        del document["clock"]["saved_at"]
        return jsonnum.dumps(document).encode()

    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:

        async def step(method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
            content = None if body is None else jsonnum.dumps(body)
            response = await client.request(method, path, content=content, headers={"Content-Type": "application/json", **(headers or {})})
            assert response.status_code == 200, (path, response.text)
            now = written()
            assert not seen or now != seen[-1], f"{method} {path} changed nothing in the file"
            seen.append(now)
            return jsonnum.loads(response.content)

        sale = (await step("POST", "/api/v1/esim/orders", {"product_id": 712, "amount": Decimal("4.50"), "quantity": 1, "client_reference": "A"}, octo))["data"]
        await step("PATCH", f"/api/v1/esim/orders/{sale['id']}/notification-email", {"email": "agent@example.com"}, octo)
        await step("POST", f"/_sandbox/esims/{sale['iccid']}/install")
        await step("POST", f"/_sandbox/esims/{sale['iccid']}/usage", {"bytes": 1000})
        await step("POST", "/_sandbox/faults", {"provider": "octopus", "endpoint": "create_order", "kind": "pending", "seconds": 30})
        later = (await step("POST", "/api/v1/esim/orders", {"product_id": 712, "amount": Decimal("4.50"), "quantity": 1, "client_reference": "B"}, octo))["data"]
        await step("POST", "/_sandbox/clock", {"advance_seconds": 31})
        assert (await step("GET", f"/api/v1/esim/orders/{later['id']}", headers=octo))["data"]["status"] == "DELIVERED"

        line = {"type": "bundle", "item": NL, "quantity": 1}
        bought = await step("POST", "/v2.4/orders", {"type": "transaction", "assign": True, "order": [line]}, go)
        iccid = bought["order"][0]["iccids"][0]
        await step("POST", "/v2.4/orders", {"type": "transaction", "assign": True, "order": [{**line, "item": NL_3GB, "iccids": [iccid]}]}, go)
        await step("POST", "/v2.4/orders", {"type": "transaction", "assign": False, "order": [line]}, go)  # into inventory
        await step("POST", f"/_sandbox/esims/{iccid}/install")
        await step("POST", f"/_sandbox/esims/{iccid}/usage", {"bytes": 600_000_000})
        await step("DELETE", f"/v2.4/esims/{iccid}/bundles/{NL_3GB}?refundToBalance=true", headers=go)
        await step("POST", "/_sandbox/faults", {"provider": "esimgo", "endpoint": "create_order", "kind": "pending", "seconds": 20})
        waiting = await step("POST", "/v2.4/orders", {"type": "transaction", "assign": True, "order": [line]}, go)
        await step("POST", "/_sandbox/clock", {"advance_seconds": 21})
        assert (await step("GET", f"/v2.4/orders/{waiting['orderReference']}", headers=go))["status"] == "completed"
        await step("POST", "/_sandbox/faults", {"provider": "esimgo", "endpoint": "catalogue", "kind": "error_503", "count": 2})
        assert (await client.get("/v2.4/catalogue?perPage=1", headers=go)).status_code == 503  # used up one
        assert written() != seen[-1]
        await step("DELETE", "/_sandbox/faults")

        unchanged = state.read_bytes()
        await client.get("/v2.4/catalogue?perPage=1", headers=go)
        await client.get(f"/v2.4/esims/{iccid}/bundles", headers=go)
        await client.get("/_sandbox/ledger")
        assert state.read_bytes() == unchanged  # reading changes nothing

    restored = restartable(state)
    assert restored._world() == sandbox._world()
    assert restored.state.clock.now() == sandbox.state.clock.now() == T0 + timedelta(seconds=52)
