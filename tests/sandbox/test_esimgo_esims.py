"""eSIMs after the sale: details, install details, bundle states on simulated time, revokes and refunds,
compatibility, history, the organisation, and the control hooks."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from urllib.parse import unquote

import httpx
import pytest

from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from tests.conftest import T0, make_sandbox
from tests.sandbox.test_esimgo_support import (
    KEY,
    NL_1GB,
    SMDP_HOST,
    V,
    advance,
    assignment,
    body,
    bundle,
    buy,
    buy_one,
    install,
    ledger,
    line,
    other_profile_bundle,
    sim,
    use,
)

DAY = 24 * 3600
GB = 1_000_000_000


async def history(client, iccid: str) -> list[str]:
    response = await client.get(f"{V}/esims/{iccid}/history", headers=KEY)
    assert response.status_code == 200
    return [event["name"] for event in response.json()]


async def revoke(client, iccid: str, name: str = NL_1GB, **params):
    return await client.delete(f"{V}/esims/{iccid}/bundles/{name}", params=params, headers=KEY)


# ---------------------------------------------------------------- details


@pytest.mark.anyio
async def test_esim_details_before_and_after_install(sandbox_client):
    iccid, order = await buy_one(sandbox_client)
    details = (await sandbox_client.get(f"{V}/esims/{iccid}", headers=KEY)).json()
    assert details["profileStatus"] == "Released" and details["firstInstalledDateTime"] == 0
    assert details["matchingId"] == order["order"][0]["esims"][0]["matchingId"]
    assert details["pin"].isdigit() and len(details["pin"]) == 4 and details["puk"].isdigit() and len(details["puk"]) == 8
    assert details["customerRef"] == "" and "appleInstallUrl" not in details

    await advance(sandbox_client, 90)
    installed = await install(sandbox_client, iccid)
    await advance(sandbox_client, 600)
    assert (await install(sandbox_client, iccid))["firstInstalledDateTime"] == installed["firstInstalledDateTime"]  # first, not last
    details = (await sandbox_client.get(f"{V}/esims/{iccid}", params={"additionalFields": "appleInstallUrl"}, headers=KEY)).json()
    assert details["profileStatus"] == "Installed"
    assert details["firstInstalledDateTime"] == (round(T0.timestamp()) + 90) * 1000
    lpa = f"LPA:1${SMDP_HOST}${details['matchingId']}"
    assert details["appleInstallUrl"].startswith("https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=")
    assert unquote(details["appleInstallUrl"].split("carddata=", 1)[1]) == lpa


@pytest.mark.anyio
async def test_an_esim_of_another_organisation_is_not_accessible(sandbox_client):
    response = await sandbox_client.get(f"{V}/esims/8944000000000000004", headers=KEY)
    assert response.status_code == 403 and "not accessible" in response.json()["message"]


@pytest.mark.anyio
async def test_install_details_as_csv_json_and_for_several_orders(sandbox_client):
    first = await buy(sandbox_client, line(NL_1GB, 2))
    second = await buy(sandbox_client, line())
    one_ref, other_ref = first["orderReference"], second["orderReference"]
    url = f"{V}/esims/assignments"

    table = await sandbox_client.get(url, params={"reference": one_ref}, headers=KEY)
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert table.text.splitlines()[0] == '"ICCID","Matching ID","RSP URL","Bundle","Reference"'
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["ICCID"], r["Matching ID"]) for r in rows] == [(e["iccid"], e["matchingId"]) for e in first["order"][0]["esims"]]
    assert {(r["RSP URL"], r["Bundle"], r["Reference"]) for r in rows} == {("http://rsp.sandbox.esim-go.example", NL_1GB, one_ref)}

    several = (await sandbox_client.get(url, params={"reference": f"{one_ref},{other_ref}"}, headers={**KEY, "Accept": "application/json"})).json()
    assert isinstance(several, list) and len(several) == 3
    single = (await sandbox_client.get(url, params={"reference": other_ref, "additionalFields": "appleInstallUrl"}, headers={**KEY, "Accept": "application/json"})).json()
    esim = second["order"][0]["esims"][0]
    assert single["iccid"] == esim["iccid"] and single["profileStatus"] == "Released" and "firstInstalledDateTime" not in single
    assert unquote(single["appleInstallUrl"]).endswith(f"carddata=LPA:1${SMDP_HOST}${esim['matchingId']}")

    await install(sandbox_client, esim["iccid"])
    single = (await sandbox_client.get(url, params={"reference": other_ref}, headers={**KEY, "Accept": "application/json"})).json()
    assert single["profileStatus"] == "Installed" and single["firstInstalledDateTime"] == "2026-11-22T09:00:00Z"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [({}, {}, 400), ({"reference": "no-such-order"}, {}, 404), ({"reference": "{ref}"}, {"Accept": "image/gif"}, 400)],
)
async def test_install_details_refuse_what_they_cannot_answer(sandbox_client, params, headers, status):
    order = await buy(sandbox_client, line())
    params = {k: v.replace("{ref}", order["orderReference"]) for k, v in params.items()}
    response = await sandbox_client.get(f"{V}/esims/assignments", params=params, headers={**KEY, **headers})
    assert response.status_code == status and "message" in response.json()


# ---------------------------------------------------------------- bundle states


@pytest.mark.anyio
async def test_queued_active_then_depleted(sandbox_client):
    iccid, order = await buy_one(sandbox_client)
    queued = await assignment(sandbox_client, iccid)
    assert queued["bundleState"] == "queued" and queued["remainingQuantity"] == GB
    assert queued["callTypeGroup"] == "data" and queued["unlimited"] is False
    assert queued["assignmentReference"] == f"{order['orderReference']}-0" and queued["id"].isdigit()
    assert "startTime" not in queued

    assert (await use(sandbox_client, iccid, 0))["bundle_state"] == "queued"  # no data, no start
    hook = await use(sandbox_client, iccid, 400_000_000)
    assert hook == {"provider": "esimgo", "iccid": iccid, "bundle": NL_1GB, "bundle_state": "active", "remaining_bytes": 600_000_000, "unused_bytes": 0}
    active = await assignment(sandbox_client, iccid)
    assert active["bundleState"] == "active" and active["remainingQuantity"] == 600_000_000
    assert (active["startTime"], active["endTime"]) == ("2026-11-22T09:00:00Z", "2026-11-29T09:00:00Z")

    hook = await use(sandbox_client, iccid, 700_000_000)
    assert hook["bundle_state"] == "depleted" and hook["remaining_bytes"] == 0 and hook["unused_bytes"] == 100_000_000
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "depleted"
    assert "eSIM First Use" in await history(sandbox_client, iccid)


@pytest.mark.anyio
async def test_validity_runs_from_first_use_then_expires(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await advance(sandbox_client, 3 * DAY)  # unused for three days: still queued, nothing counts yet
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "queued"
    await use(sandbox_client, iccid, 1)
    await advance(sandbox_client, 7 * DAY - 1)
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "active"
    await advance(sandbox_client, 1)
    expired = await assignment(sandbox_client, iccid)
    assert expired["bundleState"] == "expired" and expired["endTime"] == "2026-12-02T09:00:00Z"
    assert "Bundle Expired" in await history(sandbox_client, iccid)


@pytest.mark.anyio
async def test_a_bundle_never_used_for_twelve_months_lapses(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await advance(sandbox_client, 364 * DAY)
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "queued"
    await advance(sandbox_client, DAY)
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "lapsed"
    assert (await use(sandbox_client, iccid, 5))["unused_bytes"] == 5  # a lapsed bundle carries no data
    assert (await history(sandbox_client, iccid))[-1] == "Bundle Lapsed"


@pytest.mark.anyio
async def test_new_assignments_process_for_a_while_when_asked(sandbox, sandbox_client):
    sim(sandbox).bundle_processing_seconds = 30
    iccid, _ = await buy_one(sandbox_client)
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "processing"
    await advance(sandbox_client, 30)
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "queued"


@pytest.mark.anyio
async def test_data_spills_from_a_used_up_bundle_into_the_next_queued_one(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    hook = await use(sandbox_client, iccid, GB + 250_000_000)
    assert hook["bundle_state"] == "active" and hook["remaining_bytes"] == 750_000_000
    (group,) = (await sandbox_client.get(f"{V}/esims/{iccid}/bundles", headers=KEY)).json()["bundles"]
    states = {a["id"]: (a["bundleState"], a["remainingQuantity"]) for a in group["assignments"]}
    assert sorted(states.values()) == [("active", 750_000_000), ("depleted", 0)]
    # The endpoint for one bundle name shows its latest assignment only.
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "active"


@pytest.mark.anyio
async def test_an_unlimited_bundle_never_runs_out(sandbox, sandbox_client):
    unlimited = other_profile_bundle(sandbox)
    assert unlimited.unlimited
    iccid, _ = await buy_one(sandbox_client, unlimited.name)
    await use(sandbox_client, iccid, 50 * GB)
    state = await assignment(sandbox_client, iccid, unlimited.name)
    assert state["bundleState"] == "active" and state["unlimited"] is True
    assert state["initialQuantity"] == state["remainingQuantity"] == -1


@pytest.mark.anyio
async def test_bundles_list_groups_by_name_limits_and_hides_used_on_request(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    for _ in range(2):
        await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    assert (await revoke(sandbox_client, iccid)).status_code == 200
    url = f"{V}/esims/{iccid}/bundles"
    (group,) = (await sandbox_client.get(url, headers=KEY)).json()["bundles"]
    assert group["name"] == NL_1GB and group["description"] == "eSIM, 1GB, 7 Days, Netherlands, V2"
    assert [a["bundleState"] for a in group["assignments"]] == ["queued", "queued", "revoked"]  # newest first
    (group,) = (await sandbox_client.get(url, params={"limit": 1}, headers=KEY)).json()["bundles"]
    assert len(group["assignments"]) == 1
    (group,) = (await sandbox_client.get(url, params={"includeUsed": "false"}, headers=KEY)).json()["bundles"]
    assert [a["bundleState"] for a in group["assignments"]] == ["queued", "queued"]
    assert (await sandbox_client.get(url, params={"limit": 201}, headers=KEY)).status_code == 400
    missing = await sandbox_client.get(f"{url}/esim_1GB_7D_DE_V2", headers=KEY)
    assert missing.status_code == 404 and "message" in missing.json()


# ---------------------------------------------------------------- revokes and refunds


@pytest.mark.anyio
async def test_validate_says_what_a_revoke_would_do_and_does_nothing(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    before = await ledger(sandbox_client)
    response = await revoke(sandbox_client, iccid, type="validate", refundToBalance="true")
    assert response.status_code == 200
    assert "refunded to balance" in response.json()["status"] and str(bundle(sandbox, NL_1GB).price) in response.json()["status"]
    assert await ledger(sandbox_client) == before
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "queued"


@pytest.mark.anyio
async def test_an_unstarted_bundle_is_refunded_to_balance(sandbox, sandbox_client):
    before = await ledger(sandbox_client)
    iccid, order = await buy_one(sandbox_client)
    response = await revoke(sandbox_client, iccid, refundToBalance="true")
    assert response.status_code == 200
    assert response.json() == {"status": "Successfully Revoked Bundle, bundle has been refunded to balance"}
    after = await ledger(sandbox_client)
    assert after["balance"] == before["balance"]
    assert after["charges"] == [{"client_reference": None, "order_id": order["orderReference"], "amount": str(bundle(sandbox, NL_1GB).price), "refunded": True}]
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "revoked"
    assert (await history(sandbox_client, iccid))[-2:] == ["Bundle Revoked", "Bundle Refunded To Balance"]
    again = await revoke(sandbox_client, iccid, refundToBalance="true")
    assert again.status_code == 400 and await ledger(sandbox_client) == after


@pytest.mark.anyio
async def test_without_refund_to_balance_an_unstarted_bundle_goes_back_to_inventory(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    before = await ledger(sandbox_client)
    response = await revoke(sandbox_client, iccid)
    assert response.json() == {"status": "Successfully Revoked Bundle, bundle has been refunded to inventory"}
    assert await ledger(sandbox_client) == before
    assert (await history(sandbox_client, iccid))[-1] == "Bundle Refunded to Inventory"


@pytest.mark.anyio
async def test_a_started_bundle_cannot_be_refunded_only_revoked(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await use(sandbox_client, iccid, 1000)
    before = await ledger(sandbox_client)
    for kind in ("validate", "transaction"):
        response = await revoke(sandbox_client, iccid, type=kind, refundToBalance="true")
        assert response.status_code == 400 and "started" in response.json()["message"]
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "active"
    response = await revoke(sandbox_client, iccid, refundToBalance="false")
    assert response.status_code == 200 and "not been refunded" in response.json()["status"]
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "revoked"
    assert await ledger(sandbox_client) == before


@pytest.mark.anyio
async def test_the_oldest_unused_assignment_is_revoked_first(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await use(sandbox_client, iccid, 1)  # the first one is started
    await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    ids = [a["id"] for a in (await sandbox_client.get(f"{V}/esims/{iccid}/bundles", headers=KEY)).json()["bundles"][0]["assignments"]]
    newest, middle, oldest = ids
    assert (await revoke(sandbox_client, iccid, refundToBalance="true")).status_code == 200
    states = {a["id"]: a["bundleState"] for a in (await sandbox_client.get(f"{V}/esims/{iccid}/bundles", headers=KEY)).json()["bundles"][0]["assignments"]}
    assert states == {oldest: "active", middle: "revoked", newest: "queued"}


@pytest.mark.anyio
async def test_each_unit_of_a_multi_esim_order_can_be_refunded(sandbox_client):
    before = await ledger(sandbox_client)
    order = await buy(sandbox_client, line(NL_1GB, 2))
    for iccid in order["order"][0]["iccids"]:
        assert (await revoke(sandbox_client, iccid, refundToBalance="true")).status_code == 200
    assert (await ledger(sandbox_client))["balance"] == before["balance"]


@pytest.mark.anyio
async def test_no_refund_after_the_refund_window(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await advance(sandbox_client, 61 * DAY)
    response = await revoke(sandbox_client, iccid, refundToBalance="true")
    assert response.status_code == 400 and "refund period" in response.json()["message"]


@pytest.mark.anyio
async def test_a_named_assignment_can_be_revoked(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    newest = (await assignment(sandbox_client, iccid))["id"]
    response = await sandbox_client.delete(f"{V}/esims/{iccid}/bundles/{NL_1GB}/assignments/{newest}", headers=KEY)
    assert response.status_code == 200
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "revoked"
    missing = await sandbox_client.delete(f"{V}/esims/{iccid}/bundles/{NL_1GB}/assignments/1", headers=KEY)
    assert missing.status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize("params", [{"type": "dry-run"}, {"refundToBalance": "maybe"}])
async def test_revoke_refuses_bad_parameters(sandbox_client, params):
    iccid, _ = await buy_one(sandbox_client)
    response = await revoke(sandbox_client, iccid, **params)
    assert response.status_code == 400 and "message" in response.json()
    assert (await assignment(sandbox_client, iccid))["bundleState"] == "queued"


# ---------------------------------------------------------------- compatibility, history, organisation


@pytest.mark.anyio
async def test_compatibility_for_unknown_bundles_and_esims(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    assert (await sandbox_client.get(f"{V}/esims/{iccid}/compatible/esim_nope_V2", headers=KEY)).status_code == 404
    assert (await sandbox_client.get(f"{V}/esims/8944000000000000004/compatible/{NL_1GB}", headers=KEY)).status_code == 403


@pytest.mark.anyio
async def test_history_tells_the_esims_life_in_order(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await advance(sandbox_client, 60)
    await use(sandbox_client, iccid, 900_000_000)
    await buy(sandbox_client, line(NL_1GB, 1, iccids=[iccid]))
    await revoke(sandbox_client, iccid, refundToBalance="true")
    events = (await sandbox_client.get(f"{V}/esims/{iccid}/history", headers=KEY)).json()
    assert [e["name"] for e in events] == [
        "Bundle Applied",
        "eSIM First Attachment",
        "eSIM First Use",
        "eSIM Utilisation Alert",
        "eSIM Utilisation Alert",
        "Bundle Applied",
        "Bundle Revoked",
        "Bundle Refunded To Balance",
    ]
    assert all(e["bundleName"] == NL_1GB for e in events)
    assert events[0]["date"] == "2026-11-22T09:00:00Z" and events[1]["date"] == "2026-11-22T09:01:00Z"


@pytest.mark.anyio
async def test_organisation_shows_the_exact_balance(sandbox, sandbox_client):
    await buy(sandbox_client, line(NL_1GB, 3))
    organisation = body(await sandbox_client.get(f"{V}/organisation", headers=KEY))
    assert organisation["balance"] == Decimal("5000.00") - bundle(sandbox, NL_1GB).price * 3
    assert isinstance(organisation["balance"], Decimal)
    assert organisation["currency"] == "USD" and organisation["name"] and organisation["users"]


@pytest.mark.anyio
async def test_the_api_key_is_never_echoed():
    secret = "k3y-0f-the-Shop-77"
    sandbox = make_sandbox(esimgo_key=secret)
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        good = await client.get(f"{V}/organisation", headers={"X-API-Key": secret})
        assert good.status_code == 200 and "apiKey" not in good.json()
        bad = await client.get(f"{V}/organisation", headers={"X-API-Key": secret + "x"})
        assert bad.status_code == 403
        for response in (good, bad):
            assert secret not in response.text and secret not in str(response.headers)


@pytest.mark.anyio
async def test_control_hooks_know_only_this_providers_esims(sandbox, sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    provider = sim(sandbox)
    assert provider.knows(iccid) and not provider.knows("8944000000000000004")
    assert (await sandbox_client.post("/_sandbox/esims/8944000000000000004/install")).status_code == 404
    assert (await install(sandbox_client, iccid))["provider"] == "esimgo"


@pytest.mark.anyio
async def test_data_use_implies_the_esim_is_installed(sandbox_client):
    iccid, _ = await buy_one(sandbox_client)
    await use(sandbox_client, iccid, 10)
    assert (await sandbox_client.get(f"{V}/esims/{iccid}", headers=KEY)).json()["profileStatus"] == "Installed"
