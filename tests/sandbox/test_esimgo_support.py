"""Helpers shared by the eSIM Go simulator tests (no tests here).

Every helper talks HTTP to the sandbox, as a client would; only the catalogue is read directly to
pick bundles by their hidden operator profile.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from esim_tui import jsonnum
from esim_tui.sandbox.app import Sandbox
from esim_tui.sandbox.esimgo import EsimGoSim
from esim_tui.sandbox.esimgo_catalogue import CatalogueBundle, build_catalogue

KEY = {"X-API-Key": "sandbox"}
V = "/v2.4"
NL_1GB = "esim_1GB_7D_NL_V2"
SMDP_HOST = "rsp.sandbox.esim-go.example"


def sim(sandbox: Sandbox) -> EsimGoSim:
    provider = sandbox.providers["esimgo"]
    assert isinstance(provider, EsimGoSim)
    return provider


def bundle(sandbox: Sandbox, name: str) -> CatalogueBundle:
    found = build_catalogue(sandbox.config.seed).get(name)
    assert found is not None, name
    return found


def other_profile_bundle(sandbox: Sandbox, than: str = NL_1GB) -> CatalogueBundle:
    """A bundle on a different operator profile than ``than``: it cannot top up that bundle's eSIMs."""
    mine = bundle(sandbox, than)
    return next(b for b in build_catalogue(sandbox.config.seed).bundles if b.profile_name != mine.profile_name)


def same_profile_bundle(sandbox: Sandbox, than: str = NL_1GB) -> CatalogueBundle:
    mine = bundle(sandbox, than)
    return next(b for b in build_catalogue(sandbox.config.seed).bundles if b.profile_name == mine.profile_name and b.name != than)


def body(response: httpx.Response) -> Any:
    """The JSON answer with money as Decimal, as the adapters read it."""
    return jsonnum.loads(response.content)


def line(item: str = NL_1GB, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "bundle", "item": item, "quantity": quantity, **extra}


async def post_order(client: httpx.AsyncClient, kind: str = "transaction", *lines: dict[str, Any], assign: bool = True, **extra: Any) -> httpx.Response:
    payload = {"type": kind, "assign": assign, "order": list(lines or [line()]), **extra}
    return await client.post(f"{V}/orders", json=payload, headers=KEY)


async def buy(client: httpx.AsyncClient, *lines: dict[str, Any], assign: bool = True) -> dict[str, Any]:
    response = await post_order(client, "transaction", *lines, assign=assign)
    assert response.status_code == 200, response.text
    return body(response)


async def buy_one(client: httpx.AsyncClient, item: str = NL_1GB) -> tuple[str, dict[str, Any]]:
    """Buy one bundle on a new eSIM: (ICCID, the order answer)."""
    answer = await buy(client, line(item))
    return answer["order"][0]["iccids"][0], answer


async def ledger(client: httpx.AsyncClient) -> dict[str, Any]:
    out = (await client.get("/_sandbox/ledger")).json()["esimgo"]
    out["balance"] = Decimal(out["balance"])
    return out


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text


async def use(client: httpx.AsyncClient, iccid: str, used_bytes: int) -> dict[str, Any]:
    response = await client.post(f"/_sandbox/esims/{iccid}/usage", json={"bytes": used_bytes})
    assert response.status_code == 200, response.text
    return response.json()


async def install(client: httpx.AsyncClient, iccid: str) -> dict[str, Any]:
    response = await client.post(f"/_sandbox/esims/{iccid}/install")
    assert response.status_code == 200, response.text
    return response.json()


async def assignment(client: httpx.AsyncClient, iccid: str, name: str = NL_1GB) -> dict[str, Any]:
    """The latest assignment of ``name`` on the eSIM, as GET /esims/{iccid}/bundles/{name} shows it."""
    response = await client.get(f"{V}/esims/{iccid}/bundles/{name}", headers=KEY)
    assert response.status_code == 200, response.text
    (only,) = response.json()["assignments"]
    return only


async def add_fault(client: httpx.AsyncClient, endpoint: str, kind: str, **params: Any) -> None:
    response = await client.post("/_sandbox/faults", json={"provider": "esimgo", "endpoint": endpoint, "kind": kind, **params})
    assert response.status_code == 200, response.text
