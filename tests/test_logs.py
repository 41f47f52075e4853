"""The app's log keeps no secret: real records, real tracebacks, a real sale logged at DEBUG."""

from __future__ import annotations

import io
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from esim_tui.domain.plans import ProviderName
from esim_tui.logs import Redactor, configure_logging
from esim_tui.providers.octopus import OctopusCards
from esim_tui.sandbox.app import IN_PROCESS_URL, sandbox_transport
from esim_tui.services.ordering import Sales
from esim_tui.store.orders import OrderStore
from tests.conftest import make_sandbox
from tests.store_helpers import sample_plan

KEY = "esg-LIVE-7f3a9c2e41d84b6f"
TOKEN = "oc_live_Zq81bXk2mP0vW7rT"
CODE = "LPA:1$rsp.octopus.example$K2-4CVQ7B-9MZXTLA"
log = logging.getLogger("esim_tui.providers.http")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    noisy = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler, kept in filters.items():
        handler.filters[:] = kept
    root.setLevel(level)
    for name, lvl in noisy.items():
        logging.getLogger(name).setLevel(lvl)


def written(handler: logging.Handler, path: Path) -> str:
    handler.flush()
    return path.read_text(encoding="utf-8")


def assert_clean(text: str) -> None:
    for secret in (KEY, TOKEN, "K2-4CVQ7B-9MZ", "7f3a9c2e41d84b6f"):
        assert secret not in text, f"{secret!r} reached the log"


def test_messages_arguments_headers_and_codes_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "data" / "esim-tui.log"
    handler = configure_logging(path, [KEY, SecretStr(TOKEN)])
    request = httpx.Request(
        "POST",
        f"https://api.esim-go.example/v2.4/orders?api_key={KEY}&type=transaction",
        headers={"X-API-Key": KEY, "Authorization": f"Bearer {TOKEN}"},
    )
    log.info("key in the message itself: %s", KEY)
    log.info("sending %r with %r", request, request.headers)
    log.info("raw headers %s", request.headers.raw)
    log.warning("dict of headers %s", dict(request.headers))
    log.info("Authorization: Bearer %s", "unconfigured-token-abc123")
    log.info("delivered, code %s, install link %s", CODE, "https://esimsetup.apple.com/x?carddata=" + CODE)
    log.info("the key, URL-encoded in a query: %s", httpx.URL("https://x.example/", params={"k": KEY + "/+"}))
    text = written(handler, path)
    assert_clean(text)
    assert "unconfigured-token-abc123" not in text  # any bearer token, configured or not
    assert "rsp.octopus.example$***XTLA" in text  # the host stays for support, the matching ID goes
    assert "'x-api-key': '***'" in text and "(b'X-API-Key', b'***')" in text
    assert "POST" in text and "api.esim-go.example/v2.4/orders" in text  # the rest of the line is kept
    assert len(text.splitlines()) == 7


def test_a_traceback_whose_exception_holds_the_key_is_written_redacted(tmp_path: Path) -> None:
    path = tmp_path / "esim-tui.log"
    handler = configure_logging(path, [KEY])

    def call_provider() -> None:
        raise RuntimeError(f"401 from https://api.example/orders?api_key={KEY} with X-API-Key: {KEY}")

    try:
        try:
            call_provider()
        except RuntimeError as exc:
            raise ValueError(f"order failed, code {CODE}") from exc
    except ValueError:
        log.exception("placing the order failed")
    text = written(handler, path)
    assert_clean(text)
    assert "Traceback (most recent call last)" in text and "in call_provider" in text
    assert "RuntimeError: 401 from https://api.example/orders?api_key=*** with X-API-Key: ***" in text
    assert "ValueError: order failed, code LPA:1$rsp.octopus.example$***XTLA" in text


def test_handlers_already_on_the_root_logger_are_redacted_too(tmp_path: Path) -> None:
    stream = io.StringIO()
    earlier = logging.StreamHandler(stream)
    logging.getLogger().addHandler(earlier)
    configure_logging(tmp_path / "esim-tui.log", [KEY])
    log.warning("the key %s", KEY)
    assert "the key ***" in stream.getvalue() and KEY not in stream.getvalue()


def test_the_log_is_private_and_rotates_privately(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "esim-tui.log"
    handler = configure_logging(path, [KEY])
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    handler.maxBytes = 2_000
    for n in range(100):
        log.info("line %d %s", n, "x" * 50)
    handler.flush()
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == ["esim-tui.log", "esim-tui.log.1", "esim-tui.log.2", "esim-tui.log.3"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_an_existing_log_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "esim-tui.log"
    path.write_text("old line\n")
    path.chmod(0o644)
    configure_logging(path, [])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_configuring_again_replaces_the_handler(tmp_path: Path) -> None:
    path = tmp_path / "esim-tui.log"
    configure_logging(path, [KEY])
    handler = configure_logging(path, [KEY])
    log.info("once")
    assert written(handler, path).count("once") == 1


def test_without_a_file_warnings_go_to_stderr_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(None, [KEY])
    log.info("not shown %s", KEY)
    log.warning("shown %s", KEY)
    err = capsys.readouterr().err
    assert "shown ***" in err and "not shown" not in err and KEY not in err


@pytest.mark.anyio
async def test_a_whole_sale_logged_at_debug_leaves_no_token_or_code_in_the_log(tmp_path: Path) -> None:
    """reliability.md 4.3: a DEBUG run of the full flow; the key and the code appear in no record."""
    path = tmp_path / "esim-tui.log"
    handler = configure_logging(path, [TOKEN], level=logging.DEBUG)
    for name in ("httpx", "httpcore"):  # as someone chasing a bug might turn them up
        logging.getLogger(name).setLevel(logging.DEBUG)
    sandbox = make_sandbox(octopus_token=TOKEN)
    provider = OctopusCards(IN_PROCESS_URL, SecretStr(TOKEN), transport=sandbox_transport(sandbox))
    with OrderStore.open(tmp_path / "orders.json") as store:
        sales = Sales({ProviderName.OCTOPUS: provider}, store)
        order = await sales.place(await sales.open_sale(sample_plan(), None, "Ms Tanaka"))
        log.debug("sale done: %r", order)  # the whole record, code included, as a debugging session would
        log.debug("request headers were %r", {"Authorization": f"Bearer {TOKEN}"})
    await provider.aclose()
    assert order.activation_code
    matching_id = order.activation_code.rsplit("$", 1)[1]
    text = written(handler, path)
    assert "HTTP Request: POST" in text  # httpx did log, at DEBUG
    assert TOKEN not in text and matching_id not in text
    assert order.client_reference in text


def test_redacting_twice_changes_nothing() -> None:
    """Two handlers run the filter on the same record: the second pass must keep what the first left."""
    redactor = Redactor([KEY])
    once = redactor.redact(f"X-API-Key: {KEY} code {CODE} Authorization: Bearer {TOKEN} ?token=abc")
    assert redactor.redact(once) == once
    assert "***XTLA" in once
