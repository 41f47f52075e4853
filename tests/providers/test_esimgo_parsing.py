"""The eSIM Go adapter reading answers the sandbox never gives: the spec's shapes where live behaviour
differs (providers.md A.0), the other SM-DP+ vocabulary, odd bundles and broken answers. A fake API on
httpx.MockTransport serves exactly the JSON each test writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from esim_tui import jsonnum
from esim_tui.domain.destinations import DestinationKind
from esim_tui.domain.errors import MalformedResponse, OutcomeUnknown
from esim_tui.domain.orders import ActivationStatus, InstallState, OrderStatus
from esim_tui.providers.esimgo import EsimGo
from tests.providers.conftest import Waits
from tests.store_helpers import order_for, sample_plan

pytestmark = pytest.mark.anyio

ICCID = "8944538532008160222"  # seen in the wild, Luhn-valid
REFERENCE = "3a6e2e40-c674-45e9-b289-b35027bf72a9"
ORGANISATION = {"name": "Shop", "currency": "EUR", "balance": Decimal("1299.30")}

Answer = object | tuple[int, object] | Callable[[httpx.Request], httpx.Response]


def fake(routes: dict[str, Answer]) -> EsimGo:
    """An adapter on a fake API: ``routes`` maps "METHOD /path" to a JSON body, (status, body), or a handler."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = routes.get(f"{request.method} {request.url.path.removeprefix('/v2.4')}")
        if answer is None:
            return httpx.Response(404, json={"message": "Not found"})
        if callable(answer):
            return answer(request)
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        content = body if isinstance(body, bytes) else jsonnum.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    return EsimGo("https://api.example.test/v2.4", SecretStr("k"), transport=httpx.MockTransport(handle), sleep=Waits())


def bundle(name: str, isos: list[str], description: str = "", **fields) -> dict:
    return {
        "name": name,
        "description": description or f"eSIM, 1GB, 7 Days, {name}, V2",
        "countries": [{"name": iso, "region": "Somewhere", "iso": iso} for iso in isos],
        "dataAmount": 1000,
        "duration": 7,
        "speed": ["4G"],
        "autostart": True,
        "unlimited": False,
        "roamingEnabled": [],
        "price": Decimal("2.28"),
        "billingType": "FixedCost",
        **fields,
    }


def order_answer(status: str = "completed", esims: list | None = None) -> dict:
    line = {"type": "bundle", "item": "esim_1GB_7D_AX_V2", "quantity": 1, "subTotal": Decimal("2.28"), "pricePerUnit": Decimal("2.28"), "AllowReassign": False}
    if esims is not None:
        line["esims"] = esims
    return {
        "order": [line],
        "total": Decimal("2.28"),
        "currency": "EUR",
        "status": status,
        "statusMessage": "Order completed: 1 eSIMs assigned",
        "orderReference": REFERENCE,
        "createdDate": "2025-03-28T14:47:26.153875019Z",
        "assigned": True,
    }


ESIM = {"iccid": ICCID, "matchingId": "JQ-123456-ABCDEPFX", "smdpAddress": "https://rsp.example.com/"}


async def test_the_specs_bare_array_catalogue_is_read_too():
    adapter = fake({"GET /organisation": ORGANISATION, "GET /catalogue": [bundle("esim_1GB_7D_AX_V2", ["AX"])]})
    [plan] = await adapter.plans()
    assert plan.plan_id == "esim_1GB_7D_AX_V2" and plan.price.amount == Decimal("2.28")
    assert plan.price.currency == "EUR"  # the organisation's currency


async def test_bad_bundles_are_skipped_with_a_warning(caplog):
    items = [
        bundle("esim_1GB_7D_NL_V2", ["NL"]),
        {"description": "no name"},
        bundle("esim_bad/../name", ["NL"]),
        bundle("esim_1GB_7D_XX_V2", []),
        bundle("esim_1GB_7D_ZZ_V2", ["ZZ"]),
        bundle("esim_1GB_7D_FR_V2", ["FR"], dataAmount="lots"),
        bundle("esim_1GB_0D_FR_V2", ["FR"], duration=0),
        bundle("esim_1GB_7D_DE_V2", ["DE"], price=None),
        bundle("esim_0GB_7D_DE_V2", ["DE"], dataAmount=0),
        "not an object",
    ]
    adapter = fake({"GET /organisation": ORGANISATION, "GET /catalogue": {"bundles": items, "pageCount": 1, "rows": len(items), "pageSize": 50}})
    with caplog.at_level(logging.WARNING, logger="esim_tui.providers.esimgo"):
        plans = await adapter.plans()
    assert [p.plan_id for p in plans] == ["esim_1GB_7D_NL_V2"]
    assert len([r for r in caplog.records if "skipping bundle" in r.getMessage()]) == len(items) - 1


async def test_groups_of_countries_are_sold_under_the_region_most_of_them_are_in():
    items = [
        bundle("esim_1GB_7D_RME_V2", ["AE", "SA", "QA", "EG"], "eSIM, 1GB, 7 Days, Middle East, V2"),
        bundle("esim_1GB_7D_RNA_V2", ["US", "CA", "MX"], "eSIM, 1GB, 7 Days, North America, V2"),
        bundle("esim_1GB_7D_RX_V2", ["JP", "FR", "BR"], "eSIM, 1GB, 7 Days, Three continents, V2"),
        bundle("esim_UL_7D_RLA_V2", ["BR", "AR"], "eSIM, Unlimited Lite, 7 Days, Latin America, V2", dataAmount=-1, unlimited=True),
        bundle("esim_1GB_7D_NL_V2", ["NL"], roamingEnabled=False),
        bundle("esim_1GB_7D_GB_V2", ["GB", "IM", "JE"], "eSIM, 1GB, 7 Days, United Kingdom, V2"),
    ]
    adapter = fake({"GET /organisation": ORGANISATION, "GET /catalogue": {"bundles": items, "pageCount": 1}})
    plans = {p.plan_id: p for p in await adapter.plans()}
    middle_east = plans["esim_1GB_7D_RME_V2"]
    assert (middle_east.destination.kind, middle_east.destination.name) == (DestinationKind.REGION, "Asia")
    assert middle_east.name == "Middle East 1 GB / 7 days" and middle_east.coverage == ("AE", "EG", "QA", "SA")
    assert plans["esim_1GB_7D_RNA_V2"].destination.name == "Americas"
    assert plans["esim_1GB_7D_RX_V2"].destination.kind is DestinationKind.GLOBAL
    latin = plans["esim_UL_7D_RLA_V2"]
    assert latin.destination.name == "Americas" and latin.unlimited and latin.name == "Latin America Unlimited Lite / 7 days"
    assert plans["esim_1GB_7D_NL_V2"].roaming == ()
    uk = plans["esim_1GB_7D_GB_V2"]  # named for one of its countries: sold as that country's
    assert (uk.destination.code, uk.coverage) == ("GB", ("GB", "IM", "JE"))


async def test_pages_are_followed_until_page_count_and_a_page_that_repeats_stops_a_bare_array():
    def paged(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [bundle(f"esim_1GB_7D_{iso}_V2", [iso]) for iso in (["NL", "FR"] if page == 1 else ["DE"])]
        return httpx.Response(200, content=jsonnum.dumps({"bundles": items, "pageCount": 2, "rows": 3, "pageSize": 2}).encode())

    adapter = fake({"GET /organisation": ORGANISATION, "GET /catalogue": paged})
    assert [p.plan_id for p in await adapter.plans()] == ["esim_1GB_7D_NL_V2", "esim_1GB_7D_FR_V2", "esim_1GB_7D_DE_V2"]

    from esim_tui.providers import esimgo as module

    full = [bundle(f"esim_{n}GB_7D_NL_V2", ["NL"]) for n in range(1, module.CATALOGUE_PER_PAGE + 1)]
    stubborn = fake({"GET /organisation": ORGANISATION, "GET /catalogue": full})  # ignores page: same list each time
    assert len(await stubborn.plans()) == module.CATALOGUE_PER_PAGE


async def test_a_completed_order_without_esims_fetches_the_install_details():
    adapter = fake({"GET /orders/" + REFERENCE: order_answer(esims=None), "GET /esims/assignments": {**ESIM, "profileStatus": "Released"}})
    found = await adapter.get_order(REFERENCE)
    assert found.status is OrderStatus.DELIVERED and found.iccid == ICCID
    assert found.activation_code == "LPA:1$rsp.example.com$JQ-123456-ABCDEPFX"
    assert found.charged.amount == Decimal("2.28") and found.charged.currency == "EUR"
    assert found.created_at == datetime(2025, 3, 28, 14, 47, 26, 153875, tzinfo=UTC)


async def test_a_transaction_whose_install_details_are_not_ready_is_pending_not_failed():
    busy = (503, {"message": "Processing - Please come back later"})
    adapter = fake({"POST /orders": order_answer(esims=[]), "GET /esims/assignments": busy})
    placed = await adapter.place_order(sample_plan(plan_id="esim_1GB_7D_AX_V2"), "X")
    assert placed.status is OrderStatus.PENDING and placed.provider_order_id == REFERENCE


@pytest.mark.parametrize(
    "answer",
    [
        order_answer(status="on hold", esims=[ESIM]),
        {**order_answer(esims=[ESIM]), "orderReference": None},
        {**order_answer(esims=[ESIM]), "total": "a lot"},
        order_answer(esims=[{**ESIM, "matchingId": "has spaces!"}]),
        order_answer(esims=[{**ESIM, "iccid": "89-not-digits"}]),
        b"<html>502</html>",
    ],
)
async def test_an_unreadable_transaction_answer_is_an_unknown_outcome(answer):
    adapter = fake({"POST /orders": answer})
    with pytest.raises(OutcomeUnknown):
        await adapter.place_order(sample_plan(plan_id="esim_1GB_7D_AX_V2"), "X")


async def test_an_unreadable_order_is_malformed():
    adapter = fake({"GET /orders/" + REFERENCE: order_answer(status="on hold", esims=[ESIM])})
    with pytest.raises(MalformedResponse) as caught:
        await adapter.get_order(REFERENCE)
    assert "on hold" in caught.value.message


@pytest.mark.parametrize(
    ("profile", "installed", "state"),
    [
        ("Released", 0, InstallState.NOT_INSTALLED),
        ("Released", 1723541877280, InstallState.REMOVED),  # installed once, then taken off the phone
        ("Downloaded", 0, InstallState.DOWNLOADED),
        ("Installed", 1723541877280, InstallState.INSTALLED),
        ("Enabled", 1723541877280, InstallState.INSTALLED),  # the second SM-DP+ platform's words
        ("Deleted", 1723541877280, InstallState.REMOVED),
        ("Unavailable", 0, InstallState.UNAVAILABLE),
        ("Mystery", 0, None),
    ],
)
async def test_profile_status_in_both_vocabularies(profile, installed, state):
    esim = {"iccid": ICCID, "profileStatus": profile, "firstInstalledDateTime": installed}
    adapter = fake({f"GET /esims/{ICCID}": esim, f"GET /esims/{ICCID}/bundles": {"bundles": []}})
    status = await adapter.esim_status(order_for(sample_plan(), "X", iccid=ICCID))
    assert status.install_state is state
    if installed:
        assert status.installed_at == datetime(2024, 8, 13, 9, 37, 57, 280000, tzinfo=UTC)


async def test_a_started_bundle_without_an_end_time_ends_after_its_duration():
    assignment = {
        "id": "1",
        "initialQuantity": 1_000_000_000,
        "remainingQuantity": 400_000_000,
        "assignmentDateTime": "2024-12-11T10:47:00Z",
        "assignmentReference": REFERENCE + "-0",
        "bundleState": "active",
        "unlimited": False,
        "startTime": "2024-12-12T08:00:00Z",
    }
    adapter = fake(
        {
            f"GET /esims/{ICCID}": {"iccid": ICCID, "profileStatus": "Installed", "firstInstalledDateTime": 1734000000000},
            f"GET /esims/{ICCID}/bundles": {"bundles": [{"name": "5511", "assignments": [assignment, {"bundleState": "frozen"}]}]},
        }
    )
    status = await adapter.esim_status(order_for(sample_plan(), "X", iccid=ICCID))  # plan_id 5511, 7 days
    assert status.activation_status is ActivationStatus.ACTIVE
    assert status.expires_at == datetime(2024, 12, 19, 8, 0, tzinfo=UTC)
    assert [b.remaining_bytes for b in status.bundles] == [400_000_000]  # the unknown state is left out


@pytest.mark.parametrize(
    ("routes", "call"),
    [
        ({"GET /organisation": {"currency": "EUR"}}, "balance"),
        ({"GET /organisation": {"currency": "€", "balance": 1}}, "balance"),
        ({"GET /esims/assignments": lambda r: httpx.Response(200, content=b"PK not really a zip")}, "install_pack"),
        ({f"GET /esims/{ICCID}": {"iccid": ICCID}, f"GET /esims/{ICCID}/bundles": {"bundles": "none"}}, "esim_status"),
    ],
)
async def test_broken_answers_are_malformed_never_a_crash(routes, call):
    adapter = fake(routes)
    order = order_for(sample_plan(), "X", iccid=ICCID, provider_order_id=REFERENCE)
    with pytest.raises(MalformedResponse):
        await (getattr(adapter, call)() if call == "balance" else getattr(adapter, call)(order))


async def test_the_order_list_is_read_in_the_specs_shapes_too():
    sold = {**order_answer(esims=[ESIM]), "createdDate": "2026-11-22T09:00:30Z"}
    plan = sample_plan(plan_id="esim_1GB_7D_AX_V2")
    intent = order_for(plan, "X")
    for shape in ([sold], sold, {"orders": [sold, {"type": "topup"}], "rows": 2}):
        adapter = fake({"GET /orders": shape})
        found = await adapter.find_order(intent)
        assert found is not None and found.provider_order_id == REFERENCE
