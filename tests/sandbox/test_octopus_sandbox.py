"""The simulated Octopus Cards eSIM API: endpoints, auth, order rules and the eSIM lifecycle.

Everything runs in-process on the frozen sandbox clock; time moves only through POST /_sandbox/clock.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from esim_tui import jsonnum
from esim_tui.domain.codes import ActivationCode, luhn_ok
from esim_tui.sandbox.app import IN_PROCESS_URL, Sandbox, sandbox_transport
from tests.conftest import make_sandbox

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": "Bearer sandbox"}
ORDERS = "/api/v1/esim/orders"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ORDER_FIELDS = {
    "id", "client_reference", "status", "product_id", "product_name", "country_code", "data_amount_gb", "validity_days",
    "amount", "currency", "activation_status", "is_installed", "installed_at", "activated_at", "transaction_id", "created_at",
}


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL, headers=AUTH) as client:
        yield client


def body(response: httpx.Response) -> Any:
    return jsonnum.loads(response.content)


def error_of(response: httpx.Response) -> dict[str, str]:
    err = body(response)["error"]
    assert set(err) == {"name", "code", "message"}
    return err


async def place(api: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    payload = {"product_id": 712, "amount": Decimal("4.50"), "quantity": 1, **fields}
    return await api.post(ORDERS, content=jsonnum.dumps(payload), headers={"Content-Type": "application/json"})


async def charges(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await api.get("/_sandbox/ledger")).json()["octopus"]["charges"]


async def balance(api: httpx.AsyncClient) -> Decimal:
    return Decimal((await api.get("/_sandbox/ledger")).json()["octopus"]["balance"])


async def book(api: httpx.AsyncClient, kind: str, endpoint: str = "create_order", **params: Any) -> None:
    r = await api.post("/_sandbox/faults", json={"provider": "octopus", "endpoint": endpoint, "kind": kind, **params})
    assert r.status_code == 200


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/_sandbox/clock", json={"advance_seconds": seconds})).status_code == 200


# ================================================================ catalogue endpoints


async def test_list_products_for_japan(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products", params={"country_code": "JPN"})
    assert r.status_code == 200
    assert body(r) == [
        {
            "id": 712,
            "name": "Japan eSIM",
            "country_code": "JPN",
            "currency_code": "USD",
            "image_url": "https://cdn.sandbox.octopuscards.example/esim/jpn.png",
        }
    ]
    assert {k: r.headers[k] for k in ("X-Page", "X-Per-Page", "X-Total-Count", "X-Total-Pages", "X-Page-Size", "X-Has-More")} == {
        "X-Page": "1", "X-Per-Page": "50", "X-Total-Count": "1", "X-Total-Pages": "1", "X-Page-Size": "1", "X-Has-More": "false",
    }


@pytest.mark.parametrize(("code", "name"), [("GLO", "Global eSIM"), ("EUR", "Europe eSIM"), ("usa", "United States eSIM"), ("ASI", "Asia eSIM")])
async def test_country_code_also_selects_global_and_regions(api: httpx.AsyncClient, code: str, name: str) -> None:
    r = await api.get("/api/v1/esim/products", params={"country_code": code})
    assert [p["name"] for p in body(r)] == [name]


async def test_alpha2_country_code_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products", params={"country_code": "JP"})
    assert r.status_code == 400
    assert "alpha-3" in error_of(r)["message"]


async def test_an_unknown_country_code_finds_nothing(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products", params={"country_code": "XYZ"})
    assert r.status_code == 200 and body(r) == [] and r.headers["X-Total-Count"] == "0"


async def test_search_is_a_case_insensitive_substring_of_the_name(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products", params={"search": "jAPAN"})
    assert [p["id"] for p in body(r)] == [712]
    r = await api.get("/api/v1/esim/products", params={"search": "LAND", "per_page": 500})
    names = [p["name"] for p in body(r)]
    assert len(names) > 10 and all("land" in n.lower() for n in names)
    assert "Iceland eSIM" in names and "Finland eSIM" in names


async def test_search_and_country_code_combine(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products", params={"country_code": "JPN", "search": "france"})
    assert body(r) == []


async def test_product_paging_walks_the_whole_catalogue(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    total = len(sandbox.providers["octopus"].catalogue.products)
    r = await api.get("/api/v1/esim/products", params={"per_page": 100})
    assert r.headers["X-Total-Count"] == str(total)
    pages = int(r.headers["X-Total-Pages"])
    assert pages == -(-total // 100)
    seen: list[int] = []
    for page in range(1, pages + 1):
        r = await api.get("/api/v1/esim/products", params={"per_page": 100, "page": page})
        items = body(r)
        assert r.headers["X-Page"] == str(page)
        assert r.headers["X-Page-Size"] == str(len(items))
        assert r.headers["X-Has-More"] == ("true" if page < pages else "false")
        seen += [p["id"] for p in items]
    assert len(seen) == len(set(seen)) == total
    r = await api.get("/api/v1/esim/products", params={"per_page": 100, "page": pages + 1})
    assert body(r) == [] and r.headers["X-Page-Size"] == "0" and r.headers["X-Has-More"] == "false"


async def test_default_page_size_is_50(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/products")
    assert len(body(r)) == 50 and r.headers["X-Per-Page"] == "50" and r.headers["X-Has-More"] == "true"


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "-1"}, {"page": "two"}, {"page": "1.5"}, {"page": ""}, {"per_page": "0"}, {"per_page": "501"}, {"per_page": "ten"}])
async def test_bad_paging_values_are_refused(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    for path in ("/api/v1/esim/products", "/api/v1/esim/products/712/variants", ORDERS):
        r = await api.get(path, params=params)
        assert r.status_code == 400, path
        assert error_of(r)["name"] == "BadRequestError"


async def test_product_detail_inlines_the_same_variants_as_the_variants_endpoint(api: httpx.AsyncClient) -> None:
    detail = body(await api.get("/api/v1/esim/products/712"))["data"]
    r = await api.get("/api/v1/esim/products/712/variants")
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "3"
    assert detail["variants"] == body(r)
    assert {k: detail[k] for k in ("id", "name", "country_code", "currency_code")} == {
        "id": 712, "name": "Japan eSIM", "country_code": "JPN", "currency_code": "USD",
    }
    assert [(v["name"], v["amount"]) for v in detail["variants"]] == [
        ("Japan 1 GB / 7 days", Decimal("4.50")),
        ("Japan 5 GB / 30 days", Decimal("14.90")),
        ("Japan 20 GB / 30 days", Decimal("39.90")),
    ]


async def test_variant_5511_on_the_wire(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/variants/5511")
    assert body(r)["data"] == {
        "id": 5511,
        "esim_product_id": 712,
        "name": "Japan 1 GB / 7 days",
        "description": "Data-only eSIM for short trips in Japan",
        "currency_code": "USD",
        "amount": Decimal("4.50"),
        "data_amount_gb": Decimal("1.0"),
        "validity_days": 7,
        "client_discount": Decimal("5.0"),
    }
    # Exact JSON numbers, never strings and never float noise.
    assert '"amount":4.50' in r.text and '"client_discount":5.0' in r.text


@pytest.mark.parametrize("path", ["/api/v1/esim/products/99999", "/api/v1/esim/products/abc", "/api/v1/esim/products/99999/variants", "/api/v1/esim/variants/1", "/api/v1/esim/orders/123", "/api/v1/esim/orders/x"])
async def test_unknown_ids_are_404_in_the_envelope(api: httpx.AsyncClient, path: str) -> None:
    r = await api.get(path)
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"


async def test_unknown_api_path_and_wrong_method_keep_the_envelope(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/esim/charges-and-more")
    assert r.status_code == 404 and error_of(r)["name"] == "NotFoundError"
    r = await api.delete("/api/v1/esim/orders/5")
    assert r.status_code == 405 and error_of(r)["code"] == "METHOD_NOT_ALLOWED"


async def test_inactive_variants_are_hidden_everywhere_and_cannot_be_ordered(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    catalogue = sandbox.providers["octopus"].catalogue
    retired = next(v for v in catalogue.variants.values() if not v.active)
    pid = retired.esim_product_id
    detail = body(await api.get(f"/api/v1/esim/products/{pid}"))["data"]
    listed = body(await api.get(f"/api/v1/esim/products/{pid}/variants"))
    assert retired.id not in [v["id"] for v in detail["variants"]]
    assert retired.id not in [v["id"] for v in listed]
    assert len(listed) == len(catalogue.variants_of(pid)) >= 3
    assert (await api.get(f"/api/v1/esim/variants/{retired.id}")).status_code == 404
    r = await place(api, product_id=pid, amount=retired.amount)
    assert r.status_code == 400 and error_of(r)["code"] == "VARIANT_NOT_FOUND"
    assert await charges(api) == []


# ================================================================ auth


ENDPOINTS = [
    ("GET", "/api/v1/esim/products"),
    ("GET", "/api/v1/esim/products/712"),
    ("GET", "/api/v1/esim/products/712/variants"),
    ("GET", "/api/v1/esim/variants/5511"),
    ("POST", ORDERS),
    ("GET", ORDERS),
    ("GET", f"{ORDERS}/9302481"),
    ("PATCH", f"{ORDERS}/9302481/notification-email"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_api_endpoint_needs_the_authorization_header(sandbox_client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await sandbox_client.request(method, path, json={"product_id": 712, "amount": 4.5, "email": "a@b.example"})
    assert r.status_code == 401
    assert body(r) == {"error": {"name": "UnauthorizedError", "code": "UNAUTHORIZED", "message": "Authorization header required"}}
    assert await charges(sandbox_client) == []


@pytest.mark.parametrize("header", ["Bearer not-the-token-zq81", "Basic c2FuZGJveA==", "Bearer", "sandbox", "Token sandbox"])
async def test_bad_credentials_are_refused_without_echoing_them(sandbox_client: httpx.AsyncClient, header: str) -> None:
    r = await sandbox_client.get("/api/v1/esim/products", headers={"Authorization": header})
    assert r.status_code == 401
    assert error_of(r) == {"name": "UnauthorizedError", "code": "UNAUTHORIZED", "message": "Invalid credentials"}
    assert "zq81" not in r.text and "c2FuZGJveA" not in r.text


async def test_a_failed_order_attempt_never_echoes_the_bearer_token(sandbox_client: httpx.AsyncClient) -> None:
    r = await sandbox_client.post(ORDERS, json={"product_id": 712, "amount": 4.5}, headers={"Authorization": "Bearer secret-XYZ-123"})
    assert "secret-XYZ-123" not in r.text


async def test_the_configured_token_is_case_sensitive_and_configurable(sandbox_client: httpx.AsyncClient) -> None:
    r = await sandbox_client.get("/api/v1/esim/products", headers={"Authorization": "Bearer SANDBOX"})
    assert r.status_code == 401
    other = make_sandbox(octopus_token="shop-42")
    async with httpx.AsyncClient(transport=sandbox_transport(other), base_url=IN_PROCESS_URL) as client:
        assert (await client.get("/api/v1/esim/products", headers=AUTH)).status_code == 401
        assert (await client.get("/api/v1/esim/products", headers={"Authorization": "Bearer shop-42"})).status_code == 200


async def login(client: httpx.AsyncClient, secret: str = "sandbox") -> httpx.Response:
    return await client.post("/auth/login", json={"client_id": "counter-7", "client_secret": secret})


async def test_login_issues_a_bearer_pair_that_works(sandbox_client: httpx.AsyncClient) -> None:
    r = await login(sandbox_client)
    assert r.status_code == 200
    tokens = r.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["access_token"] != tokens["refresh_token"] and "sandbox" not in tokens["access_token"]
    r = await sandbox_client.get("/api/v1/esim/products/712", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200
    # A refresh token is not an access token.
    r = await sandbox_client.get("/api/v1/esim/products/712", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401


@pytest.mark.parametrize("payload", [{"client_id": "x", "client_secret": "wrong"}, {"client_id": "x", "client_secret": "SANDBOX"}])
async def test_login_with_the_wrong_secret_is_401(sandbox_client: httpx.AsyncClient, payload: dict) -> None:
    r = await sandbox_client.post("/auth/login", json=payload)
    assert r.status_code == 401 and error_of(r)["message"] == "Invalid credentials"
    assert "wrong" not in r.text and "SANDBOX" not in r.text


@pytest.mark.parametrize("payload", [{"client_secret": "sandbox"}, {"client_id": "", "client_secret": "sandbox"}, {"client_id": "x"}, [1, 2]])
async def test_login_without_both_fields_is_400(sandbox_client: httpx.AsyncClient, payload: Any) -> None:
    r = await sandbox_client.post("/auth/login", json=payload)
    assert r.status_code == 400 and error_of(r)["name"] == "BadRequestError"


async def test_access_token_expires_after_an_hour_of_simulated_time(sandbox_client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {(await login(sandbox_client)).json()['access_token']}"}
    await advance(sandbox_client, 3599)
    assert (await sandbox_client.get("/api/v1/esim/products/712", headers=headers)).status_code == 200
    await advance(sandbox_client, 1)
    r = await sandbox_client.get("/api/v1/esim/products/712", headers=headers)
    assert r.status_code == 401 and error_of(r)["message"] == "Authentication required"
    # The configured token does not expire.
    assert (await sandbox_client.get("/api/v1/esim/products/712", headers=AUTH)).status_code == 200


async def test_refresh_gives_a_new_pair_and_each_refresh_token_works_once(sandbox_client: httpx.AsyncClient) -> None:
    first = (await login(sandbox_client)).json()
    await advance(sandbox_client, 3600)  # the access token has just expired
    r = await sandbox_client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["token_type"] == "Bearer" and second["expires_in"] == 3600
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert (await sandbox_client.get(ORDERS, headers={"Authorization": f"Bearer {second['access_token']}"})).status_code == 200
    r = await sandbox_client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and first["refresh_token"] not in r.text


async def test_refresh_token_expires_after_seven_simulated_days(sandbox_client: httpx.AsyncClient) -> None:
    a = (await login(sandbox_client)).json()
    b = (await login(sandbox_client)).json()
    await advance(sandbox_client, 7 * 86400 - 1)
    assert (await sandbox_client.post("/auth/refresh", json={"refresh_token": a["refresh_token"]})).status_code == 200
    await advance(sandbox_client, 1)
    r = await sandbox_client.post("/auth/refresh", json={"refresh_token": b["refresh_token"]})
    assert r.status_code == 401 and error_of(r)["message"] == "Authentication required"


@pytest.mark.parametrize("payload", [{}, {"refresh_token": ""}, {"refresh_token": 5}])
async def test_refresh_without_a_token_is_400(sandbox_client: httpx.AsyncClient, payload: dict) -> None:
    assert (await sandbox_client.post("/auth/refresh", json=payload)).status_code == 400


async def test_unknown_refresh_token_is_401(sandbox_client: httpx.AsyncClient) -> None:
    r = await sandbox_client.post("/auth/refresh", json={"refresh_token": "made-up-abc"})
    assert r.status_code == 401 and error_of(r)["message"] == "Invalid credentials" and "made-up-abc" not in r.text


# ================================================================ placing orders


async def test_an_order_delivers_inline_with_iccid_and_activation_code(api: httpx.AsyncClient) -> None:
    r = await place(api, client_reference="TRIP_TOKYO_OCT", wallet_id=123)
    assert r.status_code == 200
    order = body(r)["data"]
    assert set(order) == ORDER_FIELDS | {"iccid", "activation_code"}
    assert order["status"] == "DELIVERED"
    assert order["client_reference"] == "TRIP_TOKYO_OCT"
    assert isinstance(order["id"], int) and isinstance(order["transaction_id"], int)
    assert (order["product_id"], order["product_name"], order["country_code"]) == (712, "Japan eSIM", "JPN")
    assert (order["data_amount_gb"], order["validity_days"], order["currency"]) == (Decimal("1.0"), 7, "USD")
    assert order["amount"] == Decimal("4.275")
    assert (order["activation_status"], order["is_installed"], order["installed_at"], order["activated_at"]) == ("NOT_INSTALLED", False, None, None)
    assert order["created_at"] == "2026-11-22T09:00:00Z" and TIMESTAMP.match(order["created_at"])
    iccid = order["iccid"]
    assert len(iccid) == 19 and iccid.isdigit() and iccid.startswith("89") and luhn_ok(iccid)
    code = ActivationCode.parse(order["activation_code"])
    assert code.smdp_address == "rsp.sandbox.octopuscards.example"
    assert re.fullmatch(r"[A-Z0-9]{2}-[A-Z0-9]{6}-[A-Z0-9]{7}", code.matching_id)
    assert order["activation_code"] == code.lpa
    # The detail endpoint shows the same order, code included while not installed.
    again = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert again == order


async def test_iccids_and_codes_are_unique_per_order(api: httpx.AsyncClient) -> None:
    orders = [body(await place(api))["data"] for _ in range(25)]
    assert len({o["iccid"] for o in orders}) == 25
    assert len({o["activation_code"] for o in orders}) == 25
    assert len({o["id"] for o in orders}) == 25


async def test_the_wallet_is_debited_the_discounted_amount_exactly_once(api: httpx.AsyncClient) -> None:
    before = await balance(api)
    order = body(await place(api, client_reference="R1"))["data"]
    assert await charges(api) == [{"client_reference": "R1", "order_id": str(order["id"]), "amount": "4.275", "refunded": False}]
    assert await balance(api) == before - Decimal("4.275")


async def test_discounts_other_than_five_percent(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    catalogue = sandbox.providers["octopus"].catalogue
    for percent in (Decimal("0.0"), Decimal("7.5"), Decimal("10.0")):
        v = next(v for v in catalogue.active_variants() if v.client_discount == percent)
        order = body(await place(api, product_id=v.esim_product_id, amount=v.amount))["data"]
        assert order["amount"] == v.amount * (100 - percent) / 100
        assert Decimal((await charges(api))[-1]["amount"]) == order["amount"]
    # No discount: the debit is the shelf price, written as money.
    assert (await charges(api))[0]["amount"] == str(next(v for v in catalogue.active_variants() if v.client_discount == 0).amount)


@pytest.mark.parametrize("quantity", [1, 5, 0, -3, "lots", None])
async def test_quantity_is_always_one(api: httpx.AsyncClient, quantity: Any) -> None:
    r = await place(api, quantity=quantity)
    assert r.status_code == 200 and body(r)["data"]["status"] == "DELIVERED"
    assert [c["amount"] for c in await charges(api)] == ["4.275"]


async def test_without_quantity_too(api: httpx.AsyncClient) -> None:
    r = await api.post(ORDERS, content=b'{"product_id": 712, "amount": 14.90}')
    assert body(r)["data"]["validity_days"] == 30 and len(await charges(api)) == 1


@pytest.mark.parametrize("raw", ["4.5", "4.50", "4.500", "4.5000e0", "0.45E1"])
async def test_amount_matches_a_variant_by_exact_decimal_value(api: httpx.AsyncClient, raw: str) -> None:
    r = await api.post(ORDERS, content=f'{{"product_id": 712, "amount": {raw}}}'.encode())
    assert r.status_code == 200
    assert body(r)["data"]["data_amount_gb"] == Decimal("1.0")


@pytest.mark.parametrize("raw", ["4.49", "4.501", "4.51", "4", "14.9000001", "39.91", "0", "-4.50", '"4.50"', "true", "null", "[4.5]", "NaN", "Infinity"])
async def test_an_amount_that_is_not_exactly_a_variant_is_400_and_charges_nothing(api: httpx.AsyncClient, raw: str) -> None:
    r = await api.post(ORDERS, content=f'{{"product_id": 712, "amount": {raw}}}'.encode())
    assert r.status_code == 400
    assert error_of(r)["name"] == "BadRequestError"
    assert await charges(api) == []


async def test_an_amount_from_another_product_does_not_match(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    catalogue = sandbox.providers["octopus"].catalogue
    japan_amounts = {v.amount for v in catalogue.variants_of(712)}
    other = next(v for v in catalogue.active_variants() if v.esim_product_id != 712 and v.amount not in japan_amounts)
    r = await place(api, amount=other.amount)
    assert r.status_code == 400 and error_of(r)["code"] == "VARIANT_NOT_FOUND"


@pytest.mark.parametrize("product_id", [0, -1, "712", Decimal("712.0"), True, None, [712]])
async def test_product_id_must_be_a_positive_integer(api: httpx.AsyncClient, product_id: Any) -> None:
    r = await place(api, product_id=product_id)
    assert r.status_code == 400 and "product_id" in error_of(r)["message"]
    assert await charges(api) == []


async def test_an_unknown_product_is_404(api: httpx.AsyncClient) -> None:
    r = await place(api, product_id=99999)
    assert r.status_code == 404 and error_of(r)["code"] == "NOT_FOUND"
    assert await charges(api) == []


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1]", b'"order"', b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_400(api: httpx.AsyncClient, raw: bytes) -> None:
    r = await api.post(ORDERS, content=raw)
    assert r.status_code == 400 and error_of(r)["name"] == "BadRequestError"


@pytest.mark.parametrize("wallet_id", ["main", 0, 1.5, True])
async def test_wallet_id_when_sent_must_be_a_positive_integer(api: httpx.AsyncClient, wallet_id: Any) -> None:
    r = await api.post(ORDERS, content=jsonnum.dumps({"product_id": 712, "amount": Decimal("4.50"), "wallet_id": wallet_id if wallet_id != 1.5 else Decimal("1.5")}))
    assert r.status_code == 400 and "wallet_id" in error_of(r)["message"]


@pytest.mark.parametrize(
    "reference",
    ["", "x" * 256, "tab\there", "new\nline", "caf\u00e9", "del\x7f", "nul\x00", 12345, ["TRIP"]],
    ids=["empty", "256-chars", "tab", "newline", "e-acute", "DEL", "NUL", "number", "list"],
)
async def test_an_invalid_client_reference_is_400_and_charges_nothing(api: httpx.AsyncClient, reference: Any) -> None:
    r = await place(api, client_reference=reference)
    assert r.status_code == 400
    assert "client_reference" in error_of(r)["message"]
    assert await charges(api) == []


@pytest.mark.parametrize("reference", ["x" * 255, "a", " leading space", "a+b&c#d", "100% ~`!@$^*()[]{}|\\;:'\",<.>/?"])
async def test_printable_ascii_references_up_to_255_are_accepted(api: httpx.AsyncClient, reference: str) -> None:
    r = await place(api, client_reference=reference)
    assert r.status_code == 200 and body(r)["data"]["client_reference"] == reference


async def test_a_reference_with_url_specials_round_trips_through_the_lookup(api: httpx.AsyncClient) -> None:
    ref = "a+b&c#d"
    order = body(await place(api, client_reference=ref))["data"]
    r = await api.get(ORDERS, params={"client_reference": ref})
    assert [o["id"] for o in body(r)] == [order["id"]]
    assert body(r)[0]["client_reference"] == ref
    # Pasted into the URL by hand, the reference arrives as "a b" and matches nothing: exact match only.
    r = await api.get(f"{ORDERS}?client_reference={ref}")
    assert body(r) == []


async def test_a_duplicate_reference_is_400_and_the_wallet_is_debited_once(api: httpx.AsyncClient) -> None:
    first = body(await place(api, client_reference="TRIP_TOKYO_OCT"))["data"]
    again = await place(api, client_reference="TRIP_TOKYO_OCT")
    assert again.status_code == 400
    assert error_of(again) == {"name": "BadRequestError", "code": "DUPLICATE_CLIENT_REFERENCE", "message": "Duplicate client_reference"}
    # A different plan under the same reference is just as much a duplicate.
    other = await place(api, client_reference="TRIP_TOKYO_OCT", amount=Decimal("39.90"))
    assert other.status_code == 400 and error_of(other)["message"] == "Duplicate client_reference"
    assert [(c["order_id"], c["amount"]) for c in await charges(api)] == [(str(first["id"]), "4.275")]
    found = body(await api.get(ORDERS, params={"client_reference": "TRIP_TOKYO_OCT"}))
    assert [o["id"] for o in found] == [first["id"]]


async def test_references_are_case_sensitive(api: httpx.AsyncClient) -> None:
    assert (await place(api, client_reference="trip")).status_code == 200
    assert (await place(api, client_reference="TRIP")).status_code == 200
    assert len(await charges(api)) == 2


async def test_a_failed_order_still_holds_its_reference(api: httpx.AsyncClient) -> None:
    await book(api, "fail")
    assert body(await place(api, client_reference="F1"))["data"]["status"] == "FAILED"
    r = await place(api, client_reference="F1")
    assert r.status_code == 400 and error_of(r)["message"] == "Duplicate client_reference"


async def test_without_a_reference_there_is_no_dedup(api: httpx.AsyncClient) -> None:
    a = body(await place(api))["data"]
    b = body(await place(api, client_reference=None))["data"]
    assert a["id"] != b["id"] and a["client_reference"] is None and b["client_reference"] is None
    assert len(await charges(api)) == 2


async def test_insufficient_balance_is_400_and_charges_nothing() -> None:
    sandbox = make_sandbox(octopus_balance=Decimal("4.27"))
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL, headers=AUTH) as api:
        r = await place(api, client_reference="POOR")
        assert r.status_code == 400 and error_of(r)["code"] == "INSUFFICIENT_FUNDS"
        assert await charges(api) == [] and await balance(api) == Decimal("4.27")


async def test_the_last_cent_can_be_spent() -> None:
    sandbox = make_sandbox(octopus_balance=Decimal("4.275"))
    async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL, headers=AUTH) as api:
        assert (await place(api)).status_code == 200
        assert await balance(api) == 0
        assert (await place(api)).status_code == 400


async def test_a_refused_order_leaves_a_booked_fault_for_the_next_order(api: httpx.AsyncClient) -> None:
    await book(api, "pending")
    assert (await place(api, amount=Decimal("1.23"))).status_code == 400
    assert body(await place(api))["data"]["status"] == "PENDING"


# ================================================================ reading orders


async def test_list_orders_is_newest_first_paged_and_without_credentials(api: httpx.AsyncClient) -> None:
    ids = [body(await place(api, client_reference=f"L{n}"))["data"]["id"] for n in range(7)]
    r = await api.get(ORDERS, params={"per_page": 3})
    assert [o["id"] for o in body(r)] == ids[::-1][:3]
    assert (r.headers["X-Total-Count"], r.headers["X-Total-Pages"], r.headers["X-Page-Size"], r.headers["X-Has-More"]) == ("7", "3", "3", "true")
    r = await api.get(ORDERS, params={"per_page": 3, "page": 3})
    assert [o["id"] for o in body(r)] == [ids[0]] and r.headers["X-Has-More"] == "false"
    for order in body(await api.get(ORDERS)):
        assert set(order) == ORDER_FIELDS
        assert "activation_code" not in order and "iccid" not in order


async def test_list_orders_filters_by_status(api: httpx.AsyncClient) -> None:
    delivered = body(await place(api))["data"]["id"]
    await book(api, "fail")
    failed = body(await place(api))["data"]["id"]
    await book(api, "pending")
    pending = body(await place(api))["data"]["id"]
    for status, expected in (("DELIVERED", [delivered]), ("FAILED", [failed]), ("PENDING", [pending]), ("CANCELLED", [])):
        r = await api.get(ORDERS, params={"status": status})
        assert [o["id"] for o in body(r)] == expected, status
        assert r.headers["X-Total-Count"] == str(len(expected))
    r = await api.get(ORDERS, params={"status": "delivered"})
    assert r.status_code == 400 and "PENDING" in error_of(r)["message"]


async def test_lookup_by_reference_is_exact_and_at_most_one(api: httpx.AsyncClient) -> None:
    await place(api, client_reference="SHOP-1")
    await place(api, client_reference="SHOP-10")
    assert [o["client_reference"] for o in body(await api.get(ORDERS, params={"client_reference": "SHOP-1"}))] == ["SHOP-1"]
    assert body(await api.get(ORDERS, params={"client_reference": "SHOP"})) == []
    assert body(await api.get(ORDERS, params={"client_reference": "shop-1"})) == []
    # Present but empty never widens to every order.
    assert body(await api.get(ORDERS, params={"client_reference": ""})) == []
    both = await api.get(ORDERS, params={"client_reference": "SHOP-1", "status": "FAILED"})
    assert body(both) == []


async def test_notification_email_is_attached_and_checked(api: httpx.AsyncClient) -> None:
    order = body(await place(api))["data"]
    r = await api.patch(f"{ORDERS}/{order['id']}/notification-email", json={"email": "traveller@example.com"})
    assert r.status_code == 200
    answer = body(r)["data"]
    assert answer["id"] == order["id"] and answer["notification_email"] == "traveller@example.com"
    assert "activation_code" not in answer  # only the detail endpoint hands out the credential
    r = await api.patch(f"{ORDERS}/{order['id']}/notification-email", json={"email": "new@example.org"})
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["notification_email"] == "new@example.org"
    for bad in ("", "no-at-sign", "a@b", "two words@example.com", None, 5):
        r = await api.patch(f"{ORDERS}/{order['id']}/notification-email", json={"email": bad})
        assert r.status_code == 400, bad
    r = await api.patch(f"{ORDERS}/424242/notification-email", json={"email": "x@example.com"})
    assert r.status_code == 404
    assert len(await charges(api)) == 1  # patching never charges


# ================================================================ lifecycle


async def test_install_withholds_the_activation_code_but_keeps_the_iccid(api: httpx.AsyncClient) -> None:
    order = body(await place(api))["data"]
    await advance(api, 600)
    r = await api.post(f"/_sandbox/esims/{order['iccid']}/install")
    assert r.status_code == 200
    assert r.json() == {"provider": "octopus", "iccid": order["iccid"], "is_installed": True, "installed_at": "2026-11-22T09:10:00Z"}
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["is_installed"] is True and detail["installed_at"] == "2026-11-22T09:10:00Z"
    assert detail["iccid"] == order["iccid"]
    assert "activation_code" not in detail
    assert detail["activation_status"] == "NOT_INSTALLED"  # installed, but no data used yet
    # Installing again changes nothing.
    await advance(api, 600)
    again = (await api.post(f"/_sandbox/esims/{order['iccid']}/install")).json()
    assert again["installed_at"] == "2026-11-22T09:10:00Z"


async def test_first_data_use_activates_and_validity_runs_from_install(api: httpx.AsyncClient) -> None:
    order = body(await place(api))["data"]  # 7 days validity
    # Before install, time does not eat into validity.
    await advance(api, 30 * 86400)
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["activation_status"] == "NOT_INSTALLED" and detail["activation_code"] == order["activation_code"]
    await api.post(f"/_sandbox/esims/{order['iccid']}/install")
    await advance(api, 3600)
    r = await api.post(f"/_sandbox/esims/{order['iccid']}/usage", json={"bytes": 250_000_000})
    assert r.json() == {"provider": "octopus", "iccid": order["iccid"], "used_bytes": 250_000_000, "activation_status": "ACTIVE"}
    r = await api.post(f"/_sandbox/esims/{order['iccid']}/usage", json={"bytes": 50_000_000})
    assert r.json()["used_bytes"] == 300_000_000
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["activation_status"] == "ACTIVE"
    assert detail["installed_at"] == "2026-12-22T09:00:00Z" and detail["activated_at"] == "2026-12-22T10:00:00Z"
    assert "used_bytes" not in detail  # Octopus exposes no data usage
    await advance(api, 7 * 86400 - 3600 - 1)
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["activation_status"] == "ACTIVE"
    await advance(api, 1)
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["activation_status"] == "EXPIRED"
    listed = body(await api.get(ORDERS))[0]
    assert listed["activation_status"] == "EXPIRED"
    # An expired eSIM carries no more data.
    r = await api.post(f"/_sandbox/esims/{order['iccid']}/usage", json={"bytes": 1})
    assert r.json()["used_bytes"] == 300_000_000 and r.json()["activation_status"] == "EXPIRED"


async def test_an_installed_but_unused_esim_still_expires(api: httpx.AsyncClient) -> None:
    order = body(await place(api))["data"]
    await api.post(f"/_sandbox/esims/{order['iccid']}/install")
    await advance(api, 7 * 86400)
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["activation_status"] == "EXPIRED" and detail["activated_at"] is None


async def test_data_use_before_install_installs_the_esim(api: httpx.AsyncClient) -> None:
    order = body(await place(api))["data"]
    r = await api.post(f"/_sandbox/esims/{order['iccid']}/usage", json={"bytes": 10})
    assert r.json()["activation_status"] == "ACTIVE"
    detail = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert detail["is_installed"] is True and "activation_code" not in detail


async def test_control_hooks_do_not_know_foreign_iccids(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    assert (await api.post("/_sandbox/esims/8944000000000000000/install")).status_code == 404
    octopus = sandbox.providers["octopus"]
    order = body(await place(api))["data"]
    assert octopus.knows(order["iccid"]) and not octopus.knows("8944000000000000000")


# ================================================================ PENDING and FAILED


async def test_a_pending_order_resolves_on_a_later_get_after_its_ready_time(api: httpx.AsyncClient) -> None:
    await book(api, "pending", seconds=90)
    r = await place(api, client_reference="SLOW-1")
    assert r.status_code == 200
    order = body(r)["data"]
    assert order["status"] == "PENDING"
    assert "iccid" not in order and "activation_code" not in order
    assert [c["amount"] for c in await charges(api)] == ["4.275"]  # a 200 PENDING is a charged order
    await advance(api, 89)
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["status"] == "PENDING"
    await advance(api, 1)
    done = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert done["status"] == "DELIVERED"
    assert luhn_ok(done["iccid"]) and ActivationCode.parse(done["activation_code"])
    assert done["created_at"] == "2026-11-22T09:00:00Z"
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["activation_code"] == done["activation_code"]
    assert [c["refunded"] for c in await charges(api)] == [False]


async def test_a_pending_fault_booked_over_http_delivers_after_60_simulated_seconds(api: httpx.AsyncClient) -> None:
    await book(api, "pending")
    order = body(await place(api))["data"]
    assert order["status"] == "PENDING"
    await advance(api, 59)
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["status"] == "PENDING"
    await advance(api, 1)
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["status"] == "DELIVERED"


async def test_pending_is_also_resolved_when_listed(api: httpx.AsyncClient) -> None:
    await book(api, "pending", seconds=30)
    order = body(await place(api, client_reference="P"))["data"]
    await advance(api, 30)
    listed = body(await api.get(ORDERS, params={"client_reference": "P"}))
    assert listed[0]["status"] == "DELIVERED" and "activation_code" not in listed[0]
    assert "activation_code" in body(await api.get(f"{ORDERS}/{order['id']}"))["data"]


async def test_a_failed_order_is_charged_then_refunded(api: httpx.AsyncClient) -> None:
    await book(api, "fail")
    before = await balance(api)
    r = await place(api, client_reference="NOPE")
    assert r.status_code == 200
    order = body(r)["data"]
    assert order["status"] == "FAILED"
    assert (order["failure_code"], order["failure_reason"], order["is_user_fixable"]) == ("PLAN_UNAVAILABLE", "The plan is no longer available", True)
    assert "iccid" not in order and "activation_code" not in order
    assert await charges(api) == [{"client_reference": "NOPE", "order_id": str(order["id"]), "amount": "4.275", "refunded": True}]
    assert await balance(api) == before
    assert body(await api.get(f"{ORDERS}/{order['id']}"))["data"]["failure_code"] == "PLAN_UNAVAILABLE"


async def test_a_fail_fault_takes_its_own_failure(api: httpx.AsyncClient) -> None:
    await book(api, "fail", failure_code="UPSTREAM_ERROR", failure_reason="Carrier timeout", is_user_fixable=False)
    order = body(await place(api))["data"]
    assert (order["failure_code"], order["failure_reason"], order["is_user_fixable"]) == ("UPSTREAM_ERROR", "Carrier timeout", False)


async def test_a_pending_fault_with_a_failure_code_resolves_failed_and_refunds(api: httpx.AsyncClient) -> None:
    await book(api, "pending", seconds=45, failure_code="PROVISIONING_FAILED", is_user_fixable=False)
    before = await balance(api)
    order = body(await place(api))["data"]
    assert order["status"] == "PENDING" and await balance(api) == before - Decimal("4.275")
    await advance(api, 45)
    done = body(await api.get(f"{ORDERS}/{order['id']}"))["data"]
    assert (done["status"], done["failure_code"], done["is_user_fixable"]) == ("FAILED", "PROVISIONING_FAILED", False)
    assert await balance(api) == before
    assert (await charges(api))[0]["refunded"] is True
