"""eSIM Go's "Order your first eSIM" guide, its four steps end to end, in-process and over real HTTP."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from esim_tui.domain.codes import luhn_ok
from tests.conftest import T0
from tests.sandbox.test_esimgo_support import KEY, NL_1GB, SMDP_HOST, V, body, bundle, install, ledger, line, post_order, use

CURL = "/usr/bin/curl"


def qr_text(png: bytes) -> str:
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


@pytest.mark.anyio
async def test_the_guides_four_steps(sandbox, sandbox_client):
    client = sandbox_client
    price = bundle(sandbox, NL_1GB).price
    before = await ledger(client)

    # Before you start: validate quantity 2 shows the total and charges nothing.
    response = await post_order(client, "validate", line(NL_1GB, 2))
    assert response.status_code == 200
    check = body(response)
    assert check["valid"] is True and check["currency"] == "USD"
    assert check["total"] == price * 2 and isinstance(check["total"], Decimal)
    assert check["order"] == [{"type": "bundle", "item": NL_1GB, "quantity": 2, "subTotal": price * 2, "pricePerUnit": price, "AllowReassign": False}]
    assert await ledger(client) == before

    # 1. Add a bundle to a new eSIM: the guide's body keeps "iccids": [""] for "a new eSIM".
    response = await post_order(client, "transaction", line(NL_1GB, 1, iccids=[""], allowReassign=False))
    assert response.status_code == 200, response.text
    order = body(response)
    assert order["status"] == "completed"
    assert order["statusMessage"] == "Order completed: 1 eSIMs assigned"
    (esim,) = order["order"][0]["esims"]
    iccid, matching_id = esim["iccid"], esim["matchingId"]
    assert len(iccid) == 19 and iccid.startswith("8944") and luhn_ok(iccid)
    assert order["order"][0]["iccids"] == [iccid]
    after = await ledger(client)
    assert after["balance"] == before["balance"] - price
    assert after["charges"] == [{"client_reference": None, "order_id": order["orderReference"], "amount": str(price), "refunded": False}]

    # 2. Download the QR codes as a ZIP: a PNG per eSIM and a CSV of the ICCIDs.
    response = await client.get(f"{V}/esims/assignments", params={"reference": order["orderReference"]}, headers={**KEY, "Accept": "application/zip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted([f"{iccid}.png", "esims.csv"])
    assert qr_text(archive.read(f"{iccid}.png")) == f"LPA:1${SMDP_HOST}${matching_id}"
    rows = list(csv.DictReader(io.StringIO(archive.read("esims.csv").decode())))
    assert [r["ICCID"] for r in rows] == [iccid]

    # 3. The customer installs the eSIM.
    await install(client, iccid)
    details = (await client.get(f"{V}/esims/{iccid}", headers=KEY)).json()
    assert details["profileStatus"] == "Installed"
    assert details["firstInstalledDateTime"] == round(T0.timestamp()) * 1000  # integer epoch milliseconds

    # 4. The bundle's status: queued until used, then active; remaining data in bytes.
    status = (await client.get(f"{V}/esims/{iccid}/bundles/{NL_1GB}", headers=KEY)).json()
    (assigned,) = status["assignments"]
    assert assigned["bundleState"] == "queued"
    assert assigned["initialQuantity"] == assigned["remainingQuantity"] == 1_000_000_000
    await use(client, iccid, 250_000_000)
    (assigned,) = (await client.get(f"{V}/esims/{iccid}/bundles/{NL_1GB}", headers=KEY)).json()["assignments"]
    assert assigned["bundleState"] == "active"
    assert assigned["remainingQuantity"] == 750_000_000


def curl(url: str, *args: str, output: Path | None = None) -> tuple[int, bytes]:
    """One request with curl as the guide's reader would send it: (HTTP status, body)."""
    target = ["-o", str(output)] if output else []
    done = subprocess.run(
        [CURL, "--silent", "--show-error", "--max-time", "10", "-w", "\n%{http_code}", *target, *args, url],
        capture_output=True,
        check=True,
        timeout=20,
    )
    content, _, status = done.stdout.rpartition(b"\n")
    return int(status), (output.read_bytes() if output else content)


def test_the_guides_steps_as_curl_requests(served_sandbox, sandbox, tmp_path):
    base = served_sandbox.url
    key = "X-API-Key: sandbox"
    price = bundle(sandbox, NL_1GB).price
    order_json = ["-H", key, "-H", "Content-Type: application/json", "-X", "POST"]

    validate = json.dumps({"type": "validate", "assign": True, "order": [{"type": "bundle", "quantity": 2, "item": NL_1GB}]})
    status, content = curl(f"{base}{V}/orders", *order_json, "--data", validate)
    assert status == 200
    assert json.loads(content, parse_float=Decimal)["total"] == price * 2

    transaction = json.dumps({"type": "transaction", "assign": True, "order": [{"type": "bundle", "quantity": 1, "item": NL_1GB, "iccids": [""], "allowReassign": False}]})
    status, content = curl(f"{base}{V}/orders", *order_json, "--data", transaction)
    assert status == 200
    order = json.loads(content)
    reference = order["orderReference"]
    (esim,) = order["order"][0]["esims"]

    zipped = tmp_path / "qr.zip"
    status, content = curl(f"{base}{V}/esims/assignments?reference={reference}", "-H", key, "-H", "Accept: application/zip", output=zipped)
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert qr_text(archive.read(f"{esim['iccid']}.png")) == f"LPA:1${SMDP_HOST}${esim['matchingId']}"
    assert esim["iccid"] in archive.read("esims.csv").decode()

    status, _ = curl(f"{base}/_sandbox/esims/{esim['iccid']}/install", "-X", "POST")
    assert status == 200
    status, content = curl(f"{base}{V}/esims/{esim['iccid']}", "-H", key)
    assert status == 200 and json.loads(content)["profileStatus"] == "Installed"

    status, content = curl(f"{base}{V}/esims/{esim['iccid']}/bundles/{NL_1GB}", "-H", key)
    assert status == 200
    (assigned,) = json.loads(content)["assignments"]
    assert assigned["bundleState"] == "queued" and assigned["remainingQuantity"] == 1_000_000_000

    # The same request without the key is refused.
    status, content = curl(f"{base}{V}/esims/{esim['iccid']}/bundles/{NL_1GB}")
    assert status == 403 and "message" in json.loads(content)
