"""One counter sale in a process of its own, for the kill -9 drills.

``python -m tests.drills.sale_child URL STORE REFERENCE STOP`` sells the Japan 1 GB plan through
Sales and the Octopus Cards adapter against the sandbox at URL, with a real OrderStore at STORE. It
says each step on stdout and, at the point named by STOP, waits to be killed (it parks until its stdin
closes, so it never outlives the test):

``intent``       the intent is saved; nothing was sent
``before_send``  the create request is built and about to leave; not a byte sent
``answered``     the provider answered the create in full; the answer is not saved yet
``delivered``    the activation code is saved; not shown yet (mark_shown not called)
``none``         the whole sale, shown at the end (for in-flight kills timed from outside)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr

from esim_tui.domain.plans import ProviderName
from esim_tui.providers.octopus import OctopusCards
from esim_tui.services.ordering import Sales
from esim_tui.store.orders import OrderStore
from tests.drills import park, say
from tests.store_helpers import sample_plan

STOPS = ("intent", "before_send", "answered", "delivered", "none")


class Hook(httpx.AsyncBaseTransport):
    """The real transport, with a stop just before the create leaves or just after its answer arrived."""

    def __init__(self, stop: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.stop = stop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        creating = request.method == "POST" and request.url.path.endswith("/orders")
        if creating and self.stop == "before_send":
            say("sending")
            park()
        response = await self.inner.handle_async_request(request)
        if creating and self.stop == "answered":
            await response.aread()
            say("answered", response.status_code)
            park()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def sell(url: str, store_path: Path, reference: str, stop: str) -> None:
    store = OrderStore.open(store_path)
    provider = OctopusCards(url, SecretStr("sandbox"), transport=Hook(stop))
    sales = Sales({ProviderName.OCTOPUS: provider}, store)
    order = await sales.open_sale(sample_plan(), None, "Drill customer", client_reference=reference)
    say("intent", order.id)
    if stop == "intent":
        park()
    order = await sales.place(order)
    say("placed", order.id, order.status.value)
    if stop == "delivered":
        park()
    order = await sales.mark_shown(order)
    say("shown", order.id)
    await provider.aclose()
    store.close()


if __name__ == "__main__":
    url, path, reference, stop = sys.argv[1:5]
    if stop not in STOPS:
        raise SystemExit(f"STOP must be one of {', '.join(STOPS)}")
    asyncio.run(sell(url, Path(path), reference, stop))
