"""What both adapters share: one httpx client, explicit timeouts, an overall deadline, faults mapped to
domain errors, and retries only where they are safe.

- Reads retry on network faults, timeouts, 5xx, unreadable bodies and 429/503 (waiting Retry-After),
  bounded in attempts and total time.
- A create retries only when the request provably never left (ConnectError, ConnectTimeout,
  PoolTimeout) or the provider refused it before processing (429 with Retry-After). Anything else after
  connecting is ``OutcomeUnknown``: the caller looks the order up before doing anything more.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr

from esim_tui import __version__, jsonnum
from esim_tui.domain.errors import (
    AuthenticationFailed,
    ConnectionLost,
    MalformedResponse,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
)

log = logging.getLogger(__name__)

#: Per-phase timeouts; ``read`` is per chunk, so each attempt also has an overall deadline.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=25.0, write=10.0, pool=2.0)
DEFAULT_DEADLINE = 45.0
RETRY_AFTER_BOUNDS = (1.0, 60.0)

Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date), clamped; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return RETRY_AFTER_BOUNDS[0]
    low, high = RETRY_AFTER_BOUNDS
    return min(max(seconds, low), high)


def _gave_up(provider: str, exc: ProviderError, attempts: int) -> None:
    if exc.retryable:
        log.warning("%s: a read still failed after %d attempt(s) (%s)", provider, attempts, type(exc).__name__)


def backoff(attempt: int, rng: random.Random, initial: float = 0.5, cap: float = 8.0) -> float:
    """Capped exponential back-off with full jitter (attempt counts from 1)."""
    return rng.uniform(0, min(cap, initial * 2 ** (attempt - 1)))


class SecretHeaderAuth(httpx.Auth):
    """Adds a secret header per request; the secret stays a SecretStr everywhere else (reprs, locals)."""

    def __init__(self, header: str, secret: SecretStr, prefix: str = "") -> None:
        self._header = header
        self._secret = secret
        self._prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers[self._header] = self._prefix + self._secret.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return f"SecretHeaderAuth({self._header!r}, '**********')"


class ProviderHttp:
    """The HTTP side of one provider. Subclasses say how the provider words its errors, and
    ``REQUESTS_PER_SECOND`` paces every request under a provider's rate limit."""

    REQUESTS_PER_SECOND: float | None = None

    def __init__(
        self,
        provider: str,
        base_url: str,
        auth: httpx.Auth,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        read_attempts: int = 4,
        read_budget: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.monotonic = monotonic
        self._next_slot = 0.0  # when the next request may leave (monotonic seconds)
        self.deadline = deadline
        self.read_attempts = read_attempts
        self.read_budget = read_budget
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=timeout,
            # Proxies and CA bundles from the environment could route the shop's key elsewhere.
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": f"esim-tui/{__version__}", "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------ one attempt

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request within the overall deadline; transport faults become domain errors."""
        wait = self._reserve_slot()
        if wait > 0:
            await self.sleep(wait)
        try:
            async with asyncio.timeout(self.deadline):
                return await self.client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProviderUnreachable(self.provider, _short(exc)) from None
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderTimeout(self.provider) from None
        except httpx.TransportError as exc:
            raise ConnectionLost(self.provider, _short(exc)) from None

    def _reserve_slot(self) -> float:
        """Seconds to wait so requests leave no faster than REQUESTS_PER_SECOND: polls of many
        orders at once then queue here instead of meeting the provider's 429. No await in here, so
        concurrent requests each get their own slot."""
        if not self.REQUESTS_PER_SECOND:
            return 0.0
        now = self.monotonic()
        start = max(now, self._next_slot)
        self._next_slot = start + 1 / self.REQUESTS_PER_SECOND
        return start - now

    def check(self, response: httpx.Response, what: str = "such record") -> None:
        """Raise the domain error for a non-2xx answer."""
        status = response.status_code
        if status < 300:
            return
        if status in (401, 403):
            raise AuthenticationFailed(self.provider, status)
        if status == 404:
            raise NotFound(self.provider, what)
        if status in (429, 503):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if status == 429 or wait is not None:
                raise RateLimited(self.provider, wait if wait is not None else RETRY_AFTER_BOUNDS[0])
        if status >= 500:
            raise ProviderServerError(self.provider, status)
        raise self.rejected(response)

    def rejected(self, response: httpx.Response) -> RequestRejected:
        """A 4xx as the provider words it (subclasses recognise duplicates and balance errors)."""
        return RequestRejected(self.provider, response.status_code, self.reason(response))

    def reason(self, response: httpx.Response) -> str:
        from esim_tui.domain.text import clean

        try:
            body = jsonnum.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return clean(response.text, max_length=200) or f"HTTP {response.status_code}"
        return clean(_find_message(body), max_length=300) or f"HTTP {response.status_code}"

    def json(self, response: httpx.Response) -> Any:
        try:
            return jsonnum.loads(response.content)
        except UnicodeDecodeError:
            raise MalformedResponse(self.provider, "not valid UTF-8") from None
        except ValueError:
            raise MalformedResponse(self.provider, "not valid JSON") from None

    # ------------------------------------------------------------ reads and creates

    async def read(self, path: str, *, params: Any = None, what: str = "such record", headers: dict | None = None) -> httpx.Response:
        """GET with bounded retries for everything a retry can fix; returns the checked response."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.send("GET", path, params=params, headers=headers)
                self.check(response, what)
                return response
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.read_attempts:
                    _gave_up(self.provider, exc, attempt)
                    raise
                wait = exc.retry_after_seconds if isinstance(exc, RateLimited) else backoff(attempt, self.rng)
                if loop.time() - started + wait > self.read_budget:
                    _gave_up(self.provider, exc, attempt)
                    raise
                # A retry is routine (a 429 is waited out): the log warns only when retries run out.
                log.info("%s: retrying a read in %.1f s (%s)", self.provider, wait, type(exc).__name__)
                await self.sleep(wait)

    async def read_json(self, path: str, *, params: Any = None, what: str = "such record") -> Any:
        """GET and parse; an unreadable body is retried like any transient fault."""
        attempt = 0
        while True:
            attempt += 1
            response = await self.read(path, params=params, what=what)
            try:
                return self.json(response)
            except MalformedResponse:
                if attempt >= self.read_attempts:
                    raise
                await self.sleep(backoff(attempt, self.rng))

    async def create(self, path: str, body: Any, *, max_attempts: int = 3) -> Any:
        """POST something that charges the shop. Retries only what provably was not processed."""
        content = jsonnum.dumps(body)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.send("POST", path, content=content, headers={"Content-Type": "application/json"})
            except ProviderUnreachable:
                if attempt >= max_attempts:
                    raise
                await self.sleep(backoff(attempt, self.rng))
                continue
            except ProviderError as exc:
                raise OutcomeUnknown(self.provider, exc) from None
            if response.status_code == 429 and attempt < max_attempts:
                await self.sleep(parse_retry_after(response.headers.get("Retry-After")) or backoff(attempt, self.rng))
                continue
            if response.status_code >= 500:
                raise OutcomeUnknown(self.provider, ProviderServerError(self.provider, response.status_code))
            self.check(response)
            try:
                return self.json(response)
            except MalformedResponse as exc:
                raise OutcomeUnknown(self.provider, exc) from None


def _find_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "errorMsg", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                return _find_message(value)
            if isinstance(value, str):
                return value
    return ""


def _short(exc: Exception) -> str:
    """What went wrong in the counter's words, never an exception's class name nor the URL (it may
    carry a query string)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the time allowed"
    if isinstance(exc, httpx.PoolTimeout):
        return "too many requests already waiting"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the answer was cut off"
    cause: BaseException | None = exc
    for _ in range(5):  # httpx wraps the socket's own error
        if cause is None:
            break
        if isinstance(cause, socket.gaierror):
            return "its address was not found"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    for words, said in (("refused", "the connection was refused"), ("name or service", "its address was not found"), ("reset", "the connection was reset")):
        if words in text:
            return said
    return "no connection" if isinstance(exc, httpx.ConnectError) else ""
