"""A network failure reads in the counter's words: never an exception's class name, never the URL."""

from __future__ import annotations

import socket

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.domain.errors import ConnectionLost, ProviderUnreachable
from esim_tui.providers.octopus import OctopusCards
from tests.providers.conftest import Waits

URL = "https://api.example.test"


def _failing(error: Exception) -> OctopusCards:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error

    return OctopusCards(URL, SecretStr("tok"), transport=httpx.MockTransport(handle), sleep=Waits())


def _refused() -> httpx.ConnectError:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused") from cause
        except httpx.ConnectError as exc:
            return exc


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (_refused(), ProviderUnreachable, "Cannot reach Octopus Cards: the connection was refused."),
        (httpx.ConnectError(str(socket.gaierror(-2, "Name or service not known"))), ProviderUnreachable, "Cannot reach Octopus Cards: its address was not found."),
        (httpx.ConnectTimeout("timed out"), ProviderUnreachable, "Cannot reach Octopus Cards: no connection within the time allowed."),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), ConnectionLost, "The connection to Octopus Cards broke off (the answer was cut off)."),
    ],
)
async def test_a_network_failure_says_what_happened_without_a_class_name(error, kind, words):
    provider = _failing(error)
    try:
        with pytest.raises(kind) as caught:
            await provider.plans()
    finally:
        await provider.aclose()
    message = caught.value.message
    assert message.startswith(words)
    assert type(error).__name__ not in message and "Error" not in message.split(".")[0] and URL not in message
