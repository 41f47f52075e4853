"""The simulated eSIM Go catalogue: its bundles, GET /catalogue's filters and paging, one bundle by name."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest

from esim_tui.domain.destinations import Region, all_countries, countries_in
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from esim_tui.sandbox.esimgo_catalogue import GLOBAL_CODE, build_catalogue, region_code
from tests.conftest import make_sandbox
from tests.sandbox.test_esimgo_support import KEY, NL_1GB, V, body

NAME = re.compile(r"^esim_(?:(?P<gb>\d+)GB|(?P<ul>UL[EP]?))_(?P<days>\d+)D_(?P<area>[A-Z]{2}|R[A-Z]{3}|RGBS)_V2$")


async def catalogue(client: httpx.AsyncClient, **params) -> dict:
    response = await client.get(f"{V}/catalogue", params=params, headers=KEY)
    assert response.status_code == 200, response.text
    return body(response)


def names(answer: dict) -> list[str]:
    return [b["name"] for b in answer["bundles"]]


def test_every_country_has_several_bundles_of_its_own():
    cat = build_catalogue(2026)
    for country in all_countries():
        own = [b for b in cat.bundles if [c.iso for c in b.countries] == [country.code]]
        assert len(own) >= 3, country.code
        assert {f"esim_1GB_7D_{country.code}_V2", f"esim_3GB_30D_{country.code}_V2", f"esim_5GB_30D_{country.code}_V2"} <= {b.name for b in own}


def test_regional_bundles_cover_exactly_their_regions_countries_and_global_ones_cover_all():
    cat = build_catalogue(2026)
    for region in Region:
        mine = [b for b in cat.bundles if b.name.endswith(f"_{region_code(region)}_V2")]
        assert len(mine) >= 3, region
        for b in mine:
            assert b.isos == {c.code for c in countries_in(region)}
            assert region.value in b.description
    everywhere = {c.code for c in all_countries()}
    global_bundles = [b for b in cat.bundles if f"_{GLOBAL_CODE}_" in b.name]
    assert global_bundles and all(b.isos == everywhere for b in global_bundles)


def test_names_descriptions_and_units_follow_esim_gos_pattern():
    for b in build_catalogue(2026).bundles:
        match = NAME.match(b.name)
        assert match, b.name
        assert b.duration_days == int(match["days"])
        if match["gb"]:
            assert not b.unlimited and b.data_mb == int(match["gb"]) * 1000  # MB, base 10
            assert b.description.startswith(f"eSIM, {match['gb']}GB, {b.duration_days} Day")
        else:
            assert b.unlimited and b.data_mb is None
        assert b.description.endswith(", V2")
        assert b.price > 0 and b.price == b.price.quantize(Decimal("0.01"))


@pytest.mark.anyio
async def test_the_guides_bundle_exists_as_written(sandbox_client):
    response = await sandbox_client.get(f"{V}/catalogue/bundle/{NL_1GB}", headers=KEY)
    assert response.status_code == 200
    b = body(response)
    assert b["name"] == NL_1GB
    assert b["description"] == "eSIM, 1GB, 7 Days, Netherlands, V2"
    assert b["countries"] == [{"name": "Netherlands", "region": "Europe", "iso": "NL"}]
    assert (b["dataAmount"], b["duration"], b["unlimited"], b["autostart"]) == (1000, 7, False, True)
    assert b["billingType"] == "FixedCost" and b["roamingEnabled"] == [] and b["imageUrl"].startswith("https://")
    assert isinstance(b["price"], Decimal)
    assert "groups" not in b  # the v2.4 single-bundle answer has none; the list has them

    listed = (await catalogue(sandbox_client, description="Netherlands", perPage=500))["bundles"]
    assert {k: v for k, v in next(x for x in listed if x["name"] == NL_1GB).items() if k != "groups"} == b


@pytest.mark.anyio
async def test_prices_seen_in_the_wild_are_pinned_and_exact(sandbox_client):
    uk = await sandbox_client.get(f"{V}/catalogue/bundle/esim_1GB_7D_GB_V2", headers=KEY)
    assert b'"price":1.36' in uk.content
    assert body(await sandbox_client.get(f"{V}/catalogue/bundle/esim_1GB_7D_AX_V2", headers=KEY))["price"] == Decimal("2.28")


@pytest.mark.anyio
async def test_bundle_names_are_case_sensitive(sandbox_client):
    for wrong in ("ESIM_1GB_7D_NL_V2", "esim_1gb_7d_nl_v2", "esim_1GB_7D_NL_v2"):
        response = await sandbox_client.get(f"{V}/catalogue/bundle/{wrong}", headers=KEY)
        assert response.status_code == 404
        assert "case sensitive" in response.json()["message"]


@pytest.mark.anyio
async def test_unlimited_bundles_say_so(sandbox_client):
    answer = await catalogue(sandbox_client, group="Standard Unlimited Lite", perPage=1000)
    assert answer["rows"] > 0
    for b in answer["bundles"]:
        assert b["name"].startswith("esim_UL_") and b["unlimited"] is True and b["dataAmount"] == -1


def test_the_same_seed_gives_the_same_catalogue_and_another_seed_another():
    assert build_catalogue(11) == build_catalogue.__wrapped__(11)
    a, b = build_catalogue(11), build_catalogue(12)
    assert a.get(NL_1GB) is not None and b.get(NL_1GB) is not None
    assert [x.price for x in a.bundles[:200]] != [x.price for x in b.bundles[:200]]


@pytest.mark.anyio
async def test_catalogue_over_http_is_identical_for_the_same_seed():
    answers = []
    for _ in range(2):
        sandbox = make_sandbox(seed=99)
        async with httpx.AsyncClient(transport=sandbox_transport(sandbox), base_url=IN_PROCESS_URL) as client:
            answers.append((await client.get(f"{V}/catalogue", params={"perPage": 100000}, headers=KEY)).content)
    assert answers[0] == answers[1]


@pytest.mark.anyio
async def test_answers_the_live_object_form_and_pages(sandbox_client):
    everything = await catalogue(sandbox_client, perPage=100000)
    assert set(everything) == {"bundles", "pageCount", "rows", "pageSize"}
    total = everything["rows"]
    assert total == len(everything["bundles"]) == len(build_catalogue(2026).bundles)
    assert everything["pageCount"] == 1

    first, second = await catalogue(sandbox_client, perPage=40, page=1), await catalogue(sandbox_client, perPage=40, page=2)
    assert first["pageSize"] == 40 and first["rows"] == total and first["pageCount"] == -(-total // 40)
    assert names(first) + names(second) == names(everything)[:80]
    past = await catalogue(sandbox_client, perPage=40, page=first["pageCount"] + 1)
    assert past["bundles"] == [] and past["rows"] == total

    default = await catalogue(sandbox_client)
    assert default["pageSize"] == 50 and len(default["bundles"]) == 50


@pytest.mark.anyio
async def test_orders_by_a_column_in_either_direction(sandbox_client):
    up = (await catalogue(sandbox_client, orderBy="price", direction="asc", perPage=100000))["bundles"]
    down = (await catalogue(sandbox_client, orderBy="price", direction="desc", perPage=100000))["bundles"]
    assert [b["price"] for b in up] == sorted(b["price"] for b in up)
    assert [b["price"] for b in down] == sorted((b["price"] for b in down), reverse=True)
    by_name = names(await catalogue(sandbox_client, direction="desc", perPage=100000))
    assert by_name == sorted(by_name, reverse=True)


@pytest.mark.anyio
@pytest.mark.parametrize("params", [{"orderBy": "colour"}, {"direction": "up"}, {"page": "0"}, {"perPage": "many"}])
async def test_bad_query_parameters_are_refused(sandbox_client, params):
    response = await sandbox_client.get(f"{V}/catalogue", params=params, headers=KEY)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


@pytest.mark.anyio
async def test_description_is_a_case_insensitive_wildcard_search(sandbox_client):
    substring = await catalogue(sandbox_client, description="netherlands", perPage=1000)
    assert NL_1GB in names(substring) and "esim_1GB_7D_BQ_V2" in names(substring)  # Caribbean Netherlands too
    assert all("Netherlands" in b["description"] for b in substring["bundles"])
    wildcard = names(await catalogue(sandbox_client, description="eSIM, 1GB, 7 Days, Nether*", perPage=1000))
    assert wildcard == [NL_1GB]
    assert (await catalogue(sandbox_client, description="no such bundle"))["rows"] == 0


@pytest.mark.anyio
async def test_group_is_an_exact_filter(sandbox_client):
    fixed = await catalogue(sandbox_client, group="Standard Fixed", perPage=100000)
    assert fixed["rows"] > 0 and all(b["groups"] == ["Standard Fixed"] for b in fixed["bundles"])
    assert (await catalogue(sandbox_client, group="standard fixed"))["rows"] == 0


@pytest.mark.anyio
async def test_countries_filter_matches_bundles_whose_base_countries_include_one(sandbox_client):
    answer = await catalogue(sandbox_client, countries="GB, us", perPage=100000)
    found = names(answer)
    assert "esim_1GB_7D_GB_V2" in found and "esim_1GB_7D_US_V2" in found
    assert "esim_1GB_7D_REUR_V2" in found and "esim_1GB_7D_RAMR_V2" in found and f"esim_1GB_7D_{GLOBAL_CODE}_V2" in found
    assert "esim_1GB_7D_RASI_V2" not in found and NL_1GB not in found
    assert all({"GB", "US"} & {c["iso"] for c in b["countries"]} for b in answer["bundles"])


@pytest.mark.anyio
async def test_region_filter_matches_bundles_with_a_base_country_in_the_region(sandbox_client):
    answer = await catalogue(sandbox_client, region="europe", perPage=100000)
    found = names(answer)
    assert NL_1GB in found and "esim_1GB_7D_REUR_V2" in found
    assert "esim_1GB_7D_JP_V2" not in found and "esim_1GB_7D_RASI_V2" not in found
    assert all(any(c["region"] == "Europe" for c in b["countries"]) for b in answer["bundles"])


@pytest.mark.anyio
async def test_the_catalogue_needs_the_api_key(sandbox_client):
    assert (await sandbox_client.get(f"{V}/catalogue")).status_code == 403
    response = await sandbox_client.get(f"{V}/catalogue", headers={"X-API-Key": "wrong-key-123"})
    assert response.status_code == 403
    assert "wrong-key-123" not in response.text and set(response.json()) == {"message"}
