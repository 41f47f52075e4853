"""Every answer of the simulated eSIM Go API against the official v2.4 OpenAPI document's response schemas.

The document is read from ../shared/reference beside the checkout (or $ESIMGO_OPENAPI); without it these
tests are skipped, saying where to put it (CI has it there, so they run).
Schemas are made strict (no undeclared fields) so a misspelt or invented field fails, and the only
departures allowed are the ones listed in DEVIATIONS, each with the reason: live behaviour recorded in
providers.md section A where it differs from the spec.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import re
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import jsonschema
import pytest
import yaml

from esim_tui import jsonnum
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from tests.conftest import make_sandbox
from tests.sandbox.test_esimgo_support import KEY, NL_1GB, V, add_fault, line, other_profile_bundle, post_order, same_profile_bundle, sim

BESIDE = Path(__file__).resolve().parents[3] / "shared/reference/esimgo-v2.4-openapi.yaml"  # ../shared/reference
SPEC_PATH = Path(os.environ["ESIMGO_OPENAPI"]) if os.environ.get("ESIMGO_OPENAPI") else BESIDE

#: Where the simulator answers differently from the spec on purpose, and why. Each is applied below.
DEVIATIONS = {
    "catalogue-object": "A.0 deviation 1: GET /catalogue answers {bundles, pageCount, rows, pageSize}, not the spec's "
    "bare array; the bundles list is checked against the spec's CatalogueResponse array.",
    "orders-list": "A.0 deviation 5: GET /orders answers {orders: [...], rows: n}, not one OrderResponseTransaction; "
    "each listed order is checked against OrderResponseTransaction.",
    "money-decimal": "A.0 Money: price, balance and testCredit are decimal amounts (2.28) although some schemas type "
    "them integer; they are checked as numbers.",
    "error-envelope": "A.0 error envelope: every error is JSON {message} (Message schema), also where the spec says "
    "text/plain (POST /orders) or lists no such status (404 unknown bundle/order, 429/503 on DELETE).",
    "history-list": "A.8 and the spec's own example: GET /esims/{iccid}/history answers a list of ESIMHistory "
    "entries (the schema describes one entry).",
    "assignments-list": "A.5: GET /esims/assignments answers one object for one eSIM and a list for several; each "
    "entry is checked against eSIMDetailsInstallResponse. CSV and ZIP answers have no schema: their columns "
    "and contents are checked instead.",
    "image-url": "A.1: live catalogue bundles carry imageUrl, which the v2.4 schemas lack.",
    "assignment-times": "A.8: assignments carry startTime/endTime once started (v2.5 fields, in callbacks too).",
    "install-url": "A.5/A.6: additionalFields=appleInstallUrl adds appleInstallUrl, which the v2.4 schemas lack.",
}

#: Error statuses the spec does not list for an operation but eSIM Go answers with Message ("error-envelope").
ENVELOPE_STATUSES = {"400", "403", "404", "405", "429", "500", "503"}


def _patch(schemas: dict[str, Any]) -> None:
    """Apply DEVIATIONS "money-decimal", "image-url", "assignment-times" and "install-url" to the spec."""
    number = {"type": "number"}
    for name in ("BundleCatalogueResponse",):
        schemas[name]["properties"]["price"] = number
        schemas[name]["properties"]["imageUrl"] = {"type": "string", "format": "uri"}
    items = schemas["CatalogueResponse"]["items"]["properties"]
    items["price"] = number
    items["imageUrl"] = {"type": "string", "format": "uri"}
    for field_name in ("balance", "testCredit"):
        schemas["OrganisationResponse"]["properties"][field_name] = number
    times = {"startTime": {"type": "string", "format": "date-time"}, "endTime": {"type": "string", "format": "date-time"}}
    schemas["Assignment"]["properties"].update(times)
    schemas["BundlesList"]["properties"]["bundles"]["items"]["properties"]["assignments"]["items"]["properties"].update(times)
    for name in ("eSIMDetailsResponse", "eSIMDetailsInstallResponse"):
        schemas[name]["properties"]["appleInstallUrl"] = {"type": "string", "format": "uri"}


def _json_schema(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: $ref inlined, nullable as a null type, examples dropped, and
    objects with declared properties closed to undeclared ones."""
    if isinstance(node, list):
        return [_json_schema(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/components/schemas/"):
            raise AssertionError(f"unexpected $ref {ref}")
        return _json_schema(components[ref.rsplit("/", 1)[1]], components)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("example", "examples", "description", "nullable", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"):
            continue
        if key == "properties":
            out[key] = {name: _json_schema(s, components) for name, s in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "oneOf", "anyOf"):
            out[key] = _json_schema(value, components)
        else:
            out[key] = value
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


FORMATS = jsonschema.FormatChecker()
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value)
    return True


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlparse(value)
    return bool(parts.scheme and parts.netloc)


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = copy.deepcopy(document)
        self.components = self.document["components"]["schemas"]
        _patch(self.components)

    def operation(self, method: str, template: str) -> dict[str, Any]:
        return self.document["paths"][template][method.lower()]

    def schema(self, method: str, template: str, status: str, media: str = "application/json") -> dict[str, Any] | None:
        response = self.operation(method, template)["responses"].get(status)
        if response is None:
            return None
        content = response.get("content", {})
        # "error-envelope": POST /orders errors are declared text/plain with the Message schema.
        found = content.get(media) or content.get("text/plain")
        return None if found is None else _json_schema(found["schema"], self.components)

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        jsonschema.Draft7Validator(schema, format_checker=FORMATS).validate(instance)


@pytest.fixture(scope="module")
def spec() -> Spec:
    if not SPEC_PATH.is_file():
        why = (
            f"the eSIM Go v2.4 OpenAPI document is not at {SPEC_PATH}: put esimgo-v2.4-openapi.yaml in "
            f"{BESIDE.parent} (shared/reference, beside the project folder), or set ESIMGO_OPENAPI to its path"
        )
        pytest.skip(f"eSIM Go conformance skipped: {why}")
    return Spec(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


# ---------------------------------------------------------------- a small world to ask about


@dataclass
class World:
    client: httpx.AsyncClient
    sandbox: Sandbox
    iccid: str  # installed, its NL bundle active after some data
    fresh_iccid: str  # never installed, bundle queued
    reference: str  # the order of `iccid`
    pair_reference: str  # an order of two eSIMs
    assignment_id: str  # the top-up's
    top_up: str  # a queued bundle on `iccid`


async def _world(client: httpx.AsyncClient, sandbox: Sandbox) -> World:
    first = jsonnum.loads((await post_order(client, "transaction", line())).content)
    pair = jsonnum.loads((await post_order(client, "transaction", line(NL_1GB, 2))).content)
    iccid = first["order"][0]["iccids"][0]
    await client.post(f"/_sandbox/esims/{iccid}/install")
    await client.post(f"/_sandbox/esims/{iccid}/usage", json={"bytes": 123_000_000})
    top_up = same_profile_bundle(sandbox).name
    await post_order(client, "transaction", line(top_up, 1, iccids=[iccid]))  # a queued top-up to revoke
    assignments = (await client.get(f"{V}/esims/{iccid}/bundles/{top_up}", headers=KEY)).json()["assignments"]
    return World(client, sandbox, iccid, pair["order"][0]["iccids"][0], first["orderReference"], pair["orderReference"], assignments[0]["id"], top_up)


@pytest.fixture
async def world():
    sandbox = make_sandbox()
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
        yield await _world(client, sandbox)


Call = Callable[[World], Awaitable[httpx.Response]]


def get(url: str, *, method: str = "GET", params: dict[str, str] | None = None, headers: dict[str, str] | None = None, no_key: bool = False) -> Call:
    """A request to ``url`` (under /v2.4); {iccid}, {fresh}, {ref}, {pair}, {aid}, {nl} and {top} filled from the world."""

    async def call(w: World) -> httpx.Response:
        def fill(text: str) -> str:
            return text.format(iccid=w.iccid, fresh=w.fresh_iccid, ref=w.reference, pair=w.pair_reference, aid=w.assignment_id, nl=NL_1GB, top=w.top_up)

        query = {k: fill(str(v)) for k, v in (params or {}).items()}
        sent = {} if no_key else {**KEY, **(headers or {})}
        return await w.client.request(method, f"{V}{fill(url)}", params=query, headers=sent)

    return call


def order(payload: dict[str, Any]) -> Call:
    async def call(w: World) -> httpx.Response:
        return await w.client.post(f"{V}/orders", json=payload, headers=KEY)

    return call


def with_fault(endpoint: str, kind: str, then: Call) -> Call:
    async def call(w: World) -> httpx.Response:
        await add_fault(w.client, endpoint, kind)
        return await then(w)

    return call


async def _pending_order(w: World) -> httpx.Response:
    await add_fault(w.client, "create_order", "pending", seconds=60)
    return await post_order(w.client, "transaction", line())


async def _processing_install_details(w: World) -> httpx.Response:
    reference = jsonnum.loads((await _pending_order(w)).content)["orderReference"]
    return await w.client.get(f"{V}/esims/assignments", params={"reference": reference}, headers=KEY)


async def _unlimited_bundle(w: World) -> httpx.Response:
    return await w.client.get(f"{V}/catalogue/bundle/{other_profile_bundle(w.sandbox).name}", headers=KEY)


async def _rate_limited(w: World) -> httpx.Response:
    w.sandbox.config.rate_limits = True
    sim(w.sandbox).rate_limiter.monotonic = lambda: 1.0  # one frozen window
    for _ in range(2):
        await w.client.get(f"{V}/catalogue", params={"perPage": 1}, headers=KEY)
    return await w.client.get(f"{V}/catalogue", params={"perPage": 1}, headers=KEY)


VALIDATE = {"type": "validate", "assign": True, "order": [{"type": "bundle", "item": NL_1GB, "quantity": 2}]}
TRANSACTION = {"type": "transaction", "assign": True, "order": [{"type": "bundle", "item": NL_1GB, "quantity": 1, "allowReassign": False}]}
INVENTORY = {"type": "transaction", "assign": False, "order": [{"type": "bundle", "item": NL_1GB, "quantity": 2}]}

# (case id, method, spec path, request, expected status)
CASES: list[tuple[str, str, str, Call, int]] = [
    ("catalogue", "GET", "/catalogue", get("/catalogue", params={"countries": "NL,JP", "perPage": 500}), 200),
    ("catalogue-region", "GET", "/catalogue", get("/catalogue", params={"region": "Oceania", "perPage": 500}), 200),
    ("catalogue-bad-order", "GET", "/catalogue", get("/catalogue", params={"orderBy": "colour"}), 400),
    ("catalogue-no-key", "GET", "/catalogue", get("/catalogue", no_key=True), 403),
    ("catalogue-rate-limited", "GET", "/catalogue", _rate_limited, 429),
    ("catalogue-500", "GET", "/catalogue", with_fault("catalogue", "error_500_after_commit", get("/catalogue")), 500),
    ("catalogue-503", "GET", "/catalogue", with_fault("catalogue", "error_503", get("/catalogue")), 503),
    ("bundle", "GET", "/catalogue/bundle/{name}", get("/catalogue/bundle/{nl}"), 200),
    ("bundle-unlimited", "GET", "/catalogue/bundle/{name}", _unlimited_bundle, 200),
    ("bundle-unknown", "GET", "/catalogue/bundle/{name}", get("/catalogue/bundle/esim_1gb_7d_nl_v2"), 404),
    ("order-validate", "POST", "/orders", order(VALIDATE), 200),
    ("order-transaction", "POST", "/orders", order(TRANSACTION), 200),
    ("order-inventory", "POST", "/orders", order(INVENTORY), 200),
    ("order-pending", "POST", "/orders", _pending_order, 200),
    ("order-bad", "POST", "/orders", order({"type": "transaction", "order": []}), 400),
    ("order-503", "POST", "/orders", with_fault("create_order", "error_503", order(TRANSACTION)), 503),
    ("orders", "GET", "/orders", get("/orders", params={"includeIccids": "true"}), 200),
    ("orders-plain", "GET", "/orders", get("/orders", params={"createdAt": "gte:2026-11-22T00:00:00.000Z", "limit": 2}), 200),
    ("orders-bad-filter", "GET", "/orders", get("/orders", params={"createdAt": "gte:soon"}), 400),
    ("order-detail", "GET", "/orders/{orderReference}", get("/orders/{ref}"), 200),
    ("order-unknown", "GET", "/orders/{orderReference}", get("/orders/00000000-0000-4000-8000-000000000000"), 404),
    ("install-json-one", "GET", "/esims/assignments", get("/esims/assignments", params={"reference": "{ref}"}, headers={"Accept": "application/json"}), 200),
    (
        "install-json-many",
        "GET",
        "/esims/assignments",
        get("/esims/assignments", params={"reference": "{pair}", "additionalFields": "appleInstallUrl"}, headers={"Accept": "application/json"}),
        200,
    ),
    ("install-csv", "GET", "/esims/assignments", get("/esims/assignments", params={"reference": "{ref},{pair}"}), 200),
    ("install-zip", "GET", "/esims/assignments", get("/esims/assignments", params={"reference": "{pair}"}, headers={"Accept": "application/zip"}), 200),
    ("install-no-reference", "GET", "/esims/assignments", get("/esims/assignments"), 400),
    ("install-processing", "GET", "/esims/assignments", _processing_install_details, 503),
    ("esim", "GET", "/esims/{iccid}", get("/esims/{iccid}", params={"additionalFields": "appleInstallUrl"}), 200),
    ("esim-fresh", "GET", "/esims/{iccid}", get("/esims/{fresh}"), 200),
    ("esim-unknown", "GET", "/esims/{iccid}", get("/esims/8944000000000000004"), 403),
    ("esim-bundles", "GET", "/esims/{iccid}/bundles", get("/esims/{iccid}/bundles"), 200),
    ("esim-bundles-bad-limit", "GET", "/esims/{iccid}/bundles", get("/esims/{iccid}/bundles", params={"limit": "0"}), 400),
    ("esim-bundle-queued", "GET", "/esims/{iccid}/bundles/{name}", get("/esims/{fresh}/bundles/{nl}"), 200),
    ("esim-bundle-active", "GET", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/{nl}"), 200),
    ("esim-bundle-unknown", "GET", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/esim_1GB_7D_DE_V2"), 404),
    ("revoke-validate", "DELETE", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/{top}", method="DELETE", params={"type": "validate"}), 200),
    ("revoke", "DELETE", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/{top}", method="DELETE", params={"refundToBalance": "true"}), 200),
    ("revoke-started", "DELETE", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/{nl}", method="DELETE"), 200),
    ("revoke-bad", "DELETE", "/esims/{iccid}/bundles/{name}", get("/esims/{iccid}/bundles/{nl}", method="DELETE", params={"type": "maybe"}), 400),
    (
        "revoke-503",
        "DELETE",
        "/esims/{iccid}/bundles/{name}",
        with_fault("revoke_bundle", "error_503", get("/esims/{iccid}/bundles/{nl}", method="DELETE")),
        503,
    ),
    (
        "revoke-assignment",
        "DELETE",
        "/esims/{iccid}/bundles/{name}/assignments/{assignmentId}",
        get("/esims/{iccid}/bundles/{top}/assignments/{aid}", method="DELETE", params={"type": "validate"}),
        200,
    ),
    ("compatible", "GET", "/esims/{iccid}/compatible/{bundle}", get("/esims/{iccid}/compatible/{nl}"), 200),
    ("compatible-unknown", "GET", "/esims/{iccid}/compatible/{bundle}", get("/esims/{iccid}/compatible/esim_nope"), 404),
    ("history", "GET", "/esims/{iccid}/history", get("/esims/{iccid}/history"), 200),
    ("organisation", "GET", "/organisation", get("/organisation"), 200),
    ("organisation-bad-key", "GET", "/organisation", get("/organisation", headers={"X-API-Key": "nope"}), 403),
]


def _instances(case: str, method: str, template: str, answer: Any) -> list[Any]:
    """What to check against the operation's 200 schema, after the listed deviations."""
    if (method, template) == ("GET", "/catalogue"):  # "catalogue-object"
        assert set(answer) == {"bundles", "pageCount", "rows", "pageSize"}
        assert all(isinstance(answer[k], int) and answer[k] >= 0 for k in ("pageCount", "rows", "pageSize"))
        return [answer["bundles"]]
    if (method, template) == ("GET", "/orders"):  # "orders-list"
        assert set(answer) == {"orders", "rows"} and isinstance(answer["rows"], int)
        assert answer["orders"], case
        return answer["orders"]
    if (method, template) == ("GET", "/esims/{iccid}/history"):  # "history-list"
        assert isinstance(answer, list) and answer
        return answer
    if (method, template) == ("GET", "/esims/assignments") and isinstance(answer, list):  # "assignments-list"
        assert len(answer) > 1
        return answer
    return [answer]


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "method", "template", "call", "status"), CASES, ids=[c[0] for c in CASES])
async def test_answers_match_the_spec(spec, world, case, method, template, call, status):
    response = await call(world)
    assert response.status_code == status, response.text
    media = response.headers["content-type"].split(";")[0].strip()

    if status != 200:
        # "error-envelope": always JSON {message}, whether or not the spec lists the status.
        assert media == "application/json"
        schema = spec.schema(method, template, str(status)) or spec.schema("GET", "/organisation", "400")
        if spec.schema(method, template, str(status)) is None:
            assert str(status) in ENVELOPE_STATUSES
        answer = response.json()
        spec.validate(answer, schema)
        assert set(answer) == {"message"} and answer["message"]
        return

    if media in ("text/csv", "application/zip"):  # "assignments-list": no schema for these
        assert template == "/esims/assignments"
        _check_install_files(media, response)
        return
    assert media == "application/json"
    schema = spec.schema(method, template, "200")
    assert schema is not None, f"the spec has no 200 JSON schema for {method} {template}"
    for instance in _instances(case, method, template, jsonnum.loads(response.content)):
        spec.validate(instance, schema)


def _check_install_files(media: str, response: httpx.Response) -> None:
    table = response.text if media == "text/csv" else zipfile.ZipFile(io.BytesIO(response.content)).read("esims.csv").decode()
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0] == ["ICCID", "Matching ID", "RSP URL", "Bundle", "Reference"]
    assert len(rows) > 1 and all(len(r) == 5 and r[0].isdigit() for r in rows[1:])
    if media == "application/zip":
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert sorted(names) == sorted([f"{r[0]}.png" for r in rows[1:]] + ["esims.csv"])


def test_the_strict_schemas_would_catch_an_invented_field(spec):
    schema = spec.schema("GET", "/esims/{iccid}", "200")
    with pytest.raises(jsonschema.ValidationError):
        spec.validate({"iccid": "8944", "matchingID": "AB-1"}, schema)  # misspelt matchingId
    with pytest.raises(jsonschema.ValidationError):
        spec.validate({"firstInstalledDateTime": "2026-11-22T09:00:00Z"}, schema)  # milliseconds here, not a string
    order_schema = spec.schema("POST", "/orders", "200")
    with pytest.raises(jsonschema.ValidationError):  # neither a validate nor a transaction answer
        spec.validate({"order": [], "total": 1, "valid": True, "status": "completed"}, order_schema)


def test_every_route_of_the_simulator_is_in_the_spec_and_checked(spec):
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    routes = {(m, shape(r.path.removeprefix(V))) for r in sim(make_sandbox())._api_routes for m in r.methods if m != "HEAD"}
    documented = {(m.upper(), shape(p)) for p, ops in spec.document["paths"].items() for m in ops}
    assert routes <= documented, routes - documented
    checked = {(method, shape(template)) for _, method, template, _, status in CASES if status == 200}
    assert routes <= checked, routes - checked
