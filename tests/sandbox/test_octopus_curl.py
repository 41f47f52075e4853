"""The seed document's own curl commands, run as written against the served sandbox.

HOST and TOKEN come from the environment exactly as the document expects; the commands below are
copied from it (steps 1 to 3, then the idempotency section's duplicate re-POST and lookup).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest

from esim_tui import jsonnum
from esim_tui.domain.codes import ActivationCode, luhn_ok

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists("/usr/bin/curl") and not shutil.which("curl"), reason="curl is not installed"),
]

STEP_1 = """curl "$HOST/api/v1/esim/products?country_code=JPN" \\
-H "Authorization: Bearer $TOKEN\""""

STEP_2 = """curl "$HOST/api/v1/esim/products/712/variants" \\
-H "Authorization: Bearer $TOKEN\""""

STEP_3 = """curl -X POST "$HOST/api/v1/esim/orders" \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"product_id": 712,
"amount": 4.50,
"quantity": 1,
"client_reference": "TRIP_TOKYO_OCT"
}'"""

LOOKUP = """curl "$HOST/api/v1/esim/orders?client_reference=TRIP_TOKYO_OCT" \\
-H "Authorization: Bearer $TOKEN\""""


def run(command: str, host: str) -> Any:
    curl = "/usr/bin/curl" if os.path.exists("/usr/bin/curl") else shutil.which("curl")
    env = {**os.environ, "HOST": host, "TOKEN": "sandbox", "PATH": f"{os.path.dirname(curl)}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, timeout=30, check=True)
    return jsonnum.loads(done.stdout)


def test_the_seed_documents_purchase_flow_runs_as_written(served_sandbox) -> None:
    host = served_sandbox.url

    products = run(STEP_1, host)
    assert [(p["id"], p["name"], p["country_code"]) for p in products] == [(712, "Japan eSIM", "JPN")]

    variants = run(STEP_2, host)
    assert [(v["name"], v["data_amount_gb"], v["validity_days"], v["amount"]) for v in variants] == [
        ("Japan 1 GB / 7 days", Decimal("1.0"), 7, Decimal("4.50")),
        ("Japan 5 GB / 30 days", Decimal("5.0"), 30, Decimal("14.90")),
        ("Japan 20 GB / 30 days", Decimal("20.0"), 30, Decimal("39.90")),
    ]
    assert variants[0]["id"] == 5511

    order = run(STEP_3, host)["data"]
    assert order["status"] == "DELIVERED"
    assert order["client_reference"] == "TRIP_TOKYO_OCT"
    assert order["amount"] == Decimal("4.275")
    assert luhn_ok(order["iccid"]) and ActivationCode.parse(order["activation_code"])

    duplicate = run(STEP_3, host)
    assert duplicate == {"error": {"name": "BadRequestError", "code": "DUPLICATE_CLIENT_REFERENCE", "message": "Duplicate client_reference"}}

    found = run(LOOKUP, host)
    assert len(found) == 1
    assert found[0]["id"] == order["id"] and found[0]["status"] == "DELIVERED"
    assert "activation_code" not in found[0]

    charges = served_sandbox.sandbox.providers["octopus"].account.charges
    assert [(c.client_reference, c.amount) for c in charges] == [("TRIP_TOKYO_OCT", Decimal("4.275"))]
