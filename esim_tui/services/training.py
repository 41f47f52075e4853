"""The sandbox's controls, for training and demos: the customer installs, uses data, time passes."""

from __future__ import annotations

from typing import Any

import httpx

from esim_tui import jsonnum
from esim_tui.domain.errors import EsimTuiError


class TrainingError(EsimTuiError):
    pass


class Training:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10.0, trust_env=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self.client.post(path, content=jsonnum.dumps(body or {}), headers={"Content-Type": "application/json"})
        except httpx.HTTPError:
            raise TrainingError("The sandbox did not answer; try again, or restart esim-tui if it keeps happening.") from None
        data = jsonnum.loads(response.content) if response.content else {}
        if response.status_code >= 400:
            raise TrainingError(f"The sandbox refused: {data.get('message', response.status_code)}.")
        return data

    async def install(self, iccid: str) -> dict[str, Any]:
        """The customer scans the QR and installs the eSIM."""
        return await self._post(f"/_sandbox/esims/{iccid}/install")

    async def use_data(self, iccid: str, used_bytes: int) -> dict[str, Any]:
        return await self._post(f"/_sandbox/esims/{iccid}/usage", {"bytes": used_bytes})

    async def advance(self, seconds: int) -> dict[str, Any]:
        return await self._post("/_sandbox/clock", {"advance_seconds": seconds})

    async def ledger(self) -> dict[str, Any]:
        response = await self.client.get("/_sandbox/ledger")
        return jsonnum.loads(response.content)
