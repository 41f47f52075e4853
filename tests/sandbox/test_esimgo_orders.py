"""POST /orders by eSIM Go's rules (providers.md A.3), GET /orders and GET /orders/{orderReference}."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import httpx
import pytest

from esim_tui.domain.codes import luhn_ok
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from tests.conftest import make_sandbox
from tests.sandbox.test_esimgo_support import (
    KEY,
    NL_1GB,
    V,
    advance,
    body,
    bundle,
    buy,
    buy_one,
    ledger,
    line,
    other_profile_bundle,
    post_order,
    same_profile_bundle,
)

MATCHING_ID = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)+$")


async def refused(client: httpx.AsyncClient, *lines, status: int = 400, kind: str = "transaction", **extra) -> str:
    """Post an order that must be refused and charge nothing; the error message."""
    before = await ledger(client)
    response = await post_order(client, kind, *lines, **extra)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message"}
    assert await ledger(client) == before
    return response.json()["message"]


@pytest.mark.anyio
async def test_assign_without_iccids_gives_new_esims(sandbox, sandbox_client):
    price = bundle(sandbox, NL_1GB).price
    order = await buy(sandbox_client, line(NL_1GB, 2))
    (item,) = order["order"]
    assert item["quantity"] == 2 and item["subTotal"] == price * 2 and order["total"] == price * 2
    assert order["statusMessage"] == "Order completed: 2 eSIMs assigned" and order["assigned"] is True
    iccids = [e["iccid"] for e in item["esims"]]
    assert item["iccids"] == iccids and len(set(iccids)) == 2
    for esim in item["esims"]:
        assert len(esim["iccid"]) == 19 and esim["iccid"].startswith("8944") and luhn_ok(esim["iccid"])
        assert MATCHING_ID.match(esim["matchingId"])
        assert esim["smdpAddress"] == "http://rsp.sandbox.esim-go.example"
    assert uuid.UUID(order["orderReference"]).version == 4


@pytest.mark.anyio
async def test_a_transaction_is_charged_once_for_its_total(sandbox, sandbox_client):
    other = same_profile_bundle(sandbox)
    before = await ledger(sandbox_client)
    order = await buy(sandbox_client, line(NL_1GB, 2), line(other.name, 1))
    expected = bundle(sandbox, NL_1GB).price * 2 + other.price
    assert order["total"] == expected
    after = await ledger(sandbox_client)
    assert after["balance"] == before["balance"] - expected
    assert after["charges"] == [{"client_reference": None, "order_id": order["orderReference"], "amount": str(expected), "refunded": False}]
    organisation = body(await sandbox_client.get(f"{V}/organisation", headers=KEY))
    assert organisation["balance"] == after["balance"] and organisation["currency"] == "USD"


@pytest.mark.anyio
async def test_iccids_top_up_the_same_esim(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    top_up = same_profile_bundle(sandbox)
    assert (await sandbox_client.get(f"{V}/esims/{iccid}/compatible/{top_up.name}", headers=KEY)).json() == {"compatible": True}
    order = await buy(sandbox_client, line(top_up.name, 1, iccids=[iccid]))
    assert order["order"][0]["iccids"] == [iccid]
    assert order["order"][0]["esims"][0]["iccid"] == iccid
    bundles = (await sandbox_client.get(f"{V}/esims/{iccid}/bundles", headers=KEY)).json()["bundles"]
    assert {b["name"] for b in bundles} == {NL_1GB, top_up.name}
    # The same bundle again onto the same eSIM is a top-up too.
    again = await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    assert again["order"][0]["iccids"] == [iccid]


@pytest.mark.anyio
async def test_an_incompatible_top_up_is_refused_without_allow_reassign(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    stranger = other_profile_bundle(sandbox)
    assert (await sandbox_client.get(f"{V}/esims/{iccid}/compatible/{stranger.name}", headers=KEY)).json() == {"compatible": False}
    message = await refused(sandbox_client, line(stranger.name, 1, iccids=[iccid]))
    assert "not compatible" in message and "allowReassign" in message
    message = await refused(sandbox_client, line(stranger.name, 1, iccids=[iccid], allowReassign=False), kind="validate")
    assert "not compatible" in message


@pytest.mark.anyio
async def test_an_incompatible_top_up_with_allow_reassign_gets_a_new_esim(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    stranger = other_profile_bundle(sandbox)
    order = await buy(sandbox_client, line(stranger.name, 1, iccids=[iccid], allowReassign=True))
    (item,) = order["order"]
    assert item["AllowReassign"] is True
    (new,) = item["iccids"]
    assert new != iccid
    names = [b["name"] for b in (await sandbox_client.get(f"{V}/esims/{iccid}/bundles", headers=KEY)).json()["bundles"]]
    assert names == [NL_1GB]  # the old eSIM did not get it
    assert (await sandbox_client.get(f"{V}/esims/{new}/compatible/{stranger.name}", headers=KEY)).json() == {"compatible": True}


@pytest.mark.anyio
async def test_a_mixed_line_tops_up_the_compatible_and_reassigns_the_rest(sandbox, sandbox_client):
    stranger = other_profile_bundle(sandbox)
    standard, _ = await buy_one(sandbox_client)
    unlimited, _ = await buy_one(sandbox_client, stranger.name)
    order = await buy(sandbox_client, line(stranger.name, 2, iccids=[standard, unlimited], allowReassign=True))
    first, second = order["order"][0]["iccids"]
    assert first not in (standard, unlimited) and second == unlimited
    assert order["statusMessage"] == "Order completed: 2 eSIMs assigned"


@pytest.mark.anyio
async def test_iccids_are_only_allowed_with_assign_true(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    message = await refused(sandbox_client, line(NL_1GB, 1, iccids=[iccid]), assign=False)
    assert "assign" in message


@pytest.mark.anyio
async def test_the_number_of_iccids_must_equal_the_quantity(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    message = await refused(sandbox_client, line(NL_1GB, 2, iccids=[iccid]))
    assert "quantity" in message


@pytest.mark.anyio
async def test_an_unknown_iccid_is_refused(sandbox_client):
    await refused(sandbox_client, line(NL_1GB, 1, iccids=["8944000000000000004"]))


@pytest.mark.anyio
@pytest.mark.parametrize("item", ["esim_1GB_7D_XX_V2", "ESIM_1GB_7D_NL_V2"])
async def test_an_unknown_bundle_is_refused(sandbox_client, item):
    assert item in await refused(sandbox_client, line(item))
    assert item in await refused(sandbox_client, line(item), kind="validate")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}',
        b'{"type": "buy", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}',
        b'{"type": "transaction", "assign": "yes", "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}',
        b'{"type": "transaction", "assign": true, "order": []}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "sim", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 0}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": "1"}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1.5}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": true}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1, "allowReassign": "no"}]}',
        b'{"type": "transaction", "assign": true, "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1, "iccids": "8944"}]}',
        b'{"type": "transaction", "assign": false, "profileID": "brand-1", "order": [{"type": "bundle", "item": "esim_1GB_7D_NL_V2", "quantity": 1}]}',
    ],
)
async def test_bad_bodies_are_refused_with_a_message(sandbox_client, payload):
    before = await ledger(sandbox_client)
    response = await sandbox_client.post(f"{V}/orders", content=payload, headers={**KEY, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == {"message"} and response.json()["message"]
    assert await ledger(sandbox_client) == before


@pytest.mark.anyio
async def test_a_branding_profile_is_accepted_with_assign(sandbox_client):
    response = await post_order(sandbox_client, "transaction", line(), profileID="f616f7g8-ey0d-123d-803d-0214a2f5dafb")
    assert response.status_code == 200 and body(response)["status"] == "completed"


@pytest.mark.anyio
async def test_insufficient_balance_is_refused_and_charges_nothing():
    sandbox = make_sandbox(esimgo_balance=Decimal("1.00"))
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        assert "balance" in (await refused(client, line(NL_1GB, 1))).lower()
        assert "balance" in (await refused(client, line(NL_1GB, 1), kind="validate")).lower()
        assert (await ledger(client))["balance"] == Decimal("1.00")


@pytest.mark.anyio
async def test_the_exact_balance_is_enough(sandbox):
    price = bundle(sandbox, NL_1GB).price
    exact = make_sandbox(esimgo_balance=price)
    async with httpx.AsyncClient(transport=sandbox_transport(exact), base_url=IN_PROCESS_URL) as client:
        await buy(client, line())
        assert (await ledger(client))["balance"] == Decimal("0.00")


@pytest.mark.anyio
async def test_assign_false_buys_into_inventory_without_an_esim(sandbox, sandbox_client):
    price = bundle(sandbox, NL_1GB).price
    before = await ledger(sandbox_client)
    order = await buy(sandbox_client, line(NL_1GB, 3), assign=False)
    assert order["assigned"] is False and order["statusMessage"] == "Order completed"
    assert order["order"][0]["esims"] == [] and order["order"][0]["iccids"] == []
    assert (await ledger(sandbox_client))["balance"] == before["balance"] - price * 3
    csv_answer = await sandbox_client.get(f"{V}/esims/assignments", params={"reference": order["orderReference"]}, headers=KEY)
    assert csv_answer.text.strip() == '"ICCID","Matching ID","RSP URL","Bundle","Reference"'


@pytest.mark.anyio
async def test_references_and_esims_are_the_same_for_the_same_seed():
    answers = []
    for _ in range(2):
        sandbox = make_sandbox(seed=5)
        async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
            order = await buy(client, line(NL_1GB, 2))
            answers.append((order["orderReference"], order["order"][0]["esims"]))
    assert answers[0] == answers[1]


@pytest.mark.anyio
async def test_two_fresh_training_sandboxes_hand_out_different_iccids():
    """The app's training sandbox is not seeded: two trainees' eSIMs must not share ICCIDs."""
    iccids = []
    for _ in range(2):
        sandbox = make_sandbox(seeded=False)
        async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
            order = await buy(client, line(NL_1GB, 2))
            iccids.append([esim["iccid"] for esim in order["order"][0]["esims"]])
    assert not set(iccids[0]) & set(iccids[1])
    assert all(luhn_ok(iccid) for iccid in iccids[0] + iccids[1])


@pytest.mark.anyio
async def test_get_order_answers_what_the_transaction_answered(sandbox_client):
    order = await buy(sandbox_client, line(NL_1GB, 2))
    response = await sandbox_client.get(f"{V}/orders/{order['orderReference']}", headers=KEY)
    assert response.status_code == 200 and body(response) == order
    missing = await sandbox_client.get(f"{V}/orders/{uuid.uuid4()}", headers=KEY)
    assert missing.status_code == 404 and "message" in missing.json()


@pytest.mark.anyio
async def test_validations_leave_no_order_behind(sandbox_client):
    await post_order(sandbox_client, "validate", line())
    listed = (await sandbox_client.get(f"{V}/orders", headers=KEY)).json()
    assert listed == {"orders": [], "rows": 0}


@pytest.mark.anyio
async def test_list_orders_filters_by_creation_time_newest_first(sandbox_client):
    first = await buy(sandbox_client, line())
    await advance(sandbox_client, 3600)  # 10:00
    second = await buy(sandbox_client, line())
    await advance(sandbox_client, 3600)  # 11:00
    third = await buy(sandbox_client, line())

    async def listed(*created: str, **params) -> dict:
        query = [("createdAt", c) for c in created] + list(params.items())
        response = await sandbox_client.get(f"{V}/orders", params=query, headers=KEY)
        assert response.status_code == 200, response.text
        return body(response)

    everything = await listed()
    assert [o["orderReference"] for o in everything["orders"]] == [third["orderReference"], second["orderReference"], first["orderReference"]]
    assert everything["rows"] == 3
    window = await listed("gte:2026-11-22T09:30:00.000Z", "lte:2026-11-22T10:30:00.000Z")
    assert [o["orderReference"] for o in window["orders"]] == [second["orderReference"]] and window["rows"] == 1
    assert [o["orderReference"] for o in (await listed("gt:2026-11-22T10:00:00Z"))["orders"]] == [third["orderReference"]]
    assert [o["orderReference"] for o in (await listed("lt:2026-11-22T10:00:00Z"))["orders"]] == [first["orderReference"]]
    assert [o["orderReference"] for o in (await listed("eq:2026-11-22T10:00:00Z"))["orders"]] == [second["orderReference"]]

    paged = await listed(limit=2, page=2)
    assert [o["orderReference"] for o in paged["orders"]] == [first["orderReference"]] and paged["rows"] == 3


@pytest.mark.anyio
async def test_list_orders_carries_esims_only_when_asked(sandbox_client):
    order = await buy(sandbox_client, line())
    plain = (await sandbox_client.get(f"{V}/orders", headers=KEY)).json()["orders"][0]["order"][0]
    assert "esims" not in plain and "iccids" not in plain
    full = (await sandbox_client.get(f"{V}/orders", params={"includeIccids": "true"}, headers=KEY)).json()["orders"][0]["order"][0]
    assert full["esims"] == order["order"][0]["esims"] and full["iccids"] == order["order"][0]["iccids"]


@pytest.mark.anyio
@pytest.mark.parametrize("params", [{"createdAt": "gte:yesterday"}, {"limit": "0"}, {"page": "-1"}, {"includeIccids": "perhaps"}])
async def test_list_orders_refuses_bad_parameters(sandbox_client, params):
    response = await sandbox_client.get(f"{V}/orders", params=params, headers=KEY)
    assert response.status_code == 400 and set(response.json()) == {"message"}
