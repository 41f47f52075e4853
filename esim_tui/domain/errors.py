"""The few things that can go wrong, each worded for the person at the counter: what happened, what to do.

Adapters map every HTTP status, transport fault and malformed body to one of these. Messages never
carry a secret: no token, no API key, no URL query string.
"""

from __future__ import annotations


class EsimTuiError(Exception):
    """Base class. ``what`` says what happened; ``todo`` says what the agent can do about it."""

    what: str = "Something went wrong."
    todo: str = ""

    def __init__(self, what: str | None = None, todo: str | None = None) -> None:
        if what is not None:
            self.what = what
        if todo is not None:
            self.todo = todo
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.what} {self.todo}".strip()


# ---------------------------------------------------------------- data that is not what it claims


class InvalidIccid(EsimTuiError, ValueError):
    def __init__(self, value: str) -> None:
        super().__init__(f"{value!r} is not an ICCID (18 to 22 digits).")


class InvalidActivationCode(EsimTuiError, ValueError):
    def __init__(self, value: str, why: str) -> None:
        self.why = why
        super().__init__(f"The activation code is not valid: {why}.")


class InvalidClientReference(EsimTuiError, ValueError):
    def __init__(self, why: str) -> None:
        super().__init__(f"The client reference is not valid: {why}.")


class UnknownDestination(EsimTuiError, LookupError):
    def __init__(self, value: str) -> None:
        super().__init__(f"No country or region matches {value!r}.", "Try its name or ISO code.")


# ---------------------------------------------------------------- provider faults


class ProviderError(EsimTuiError):
    """A provider call did not give us what we asked for."""

    #: True when asking again later can help (network, 5xx, 429).
    retryable: bool = False

    def __init__(self, provider: str, what: str | None = None, todo: str | None = None) -> None:
        self.provider = provider
        super().__init__(what, todo)


class ProviderUnreachable(ProviderError):
    """The request never reached the provider (connection refused, DNS, connect/pool timeout)."""

    retryable = True
    todo = "Check the shop's internet connection; nothing was sent, so nothing was charged."

    def __init__(self, provider: str, detail: str = "") -> None:
        super().__init__(provider, f"Cannot reach {display_provider(provider)}{': ' + detail if detail else ''}.")


class ProviderTimeout(ProviderError):
    retryable = True
    todo = "Try again in a moment."

    def __init__(self, provider: str) -> None:
        super().__init__(provider, f"{display_provider(provider)} did not answer in time.")


class ConnectionLost(ProviderError):
    """The connection broke after the request may have been sent (reset, truncated answer...)."""

    retryable = True
    todo = "Try again in a moment."

    def __init__(self, provider: str, detail: str = "") -> None:
        super().__init__(provider, f"The connection to {display_provider(provider)} broke off{' (' + detail + ')' if detail else ''}.")


class ProviderServerError(ProviderError):
    retryable = True
    todo = "The provider has a problem on its side; try again in a few minutes."

    def __init__(self, provider: str, status: int) -> None:
        self.status = status
        super().__init__(provider, f"{display_provider(provider)} answered with a server error ({status}).")


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, provider: str, retry_after_seconds: float) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            provider,
            f"{display_provider(provider)} asks us to slow down.",
            f"Waiting {retry_after_seconds:g} s before asking again.",
        )


class AuthenticationFailed(ProviderError):
    todo = "Check the API token or key in the configuration (see README, Configuration)."

    def __init__(self, provider: str, status: int) -> None:
        self.status = status
        super().__init__(provider, f"{display_provider(provider)} did not accept our credentials ({status}).")


class RequestRejected(ProviderError):
    """A 4xx with the provider's own reason: the request as sent will not work."""

    todo = "Nothing was charged. Check the plan and try again, or choose another plan."

    def __init__(self, provider: str, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(provider, f"{display_provider(provider)} refused the request: {reason}")


class DuplicateReference(RequestRejected):
    """The provider already has an order under this client reference: it landed before."""

    todo = "The earlier attempt went through; the order is fetched instead of placed again."


class InsufficientBalance(RequestRejected):
    todo = "Top up the provider balance, then sell again. Nothing was charged."


class NotFound(ProviderError):
    def __init__(self, provider: str, what: str) -> None:
        super().__init__(provider, f"{display_provider(provider)} has no {what}.")


class MalformedResponse(ProviderError):
    """The provider answered, but not in a shape we understand."""

    retryable = True
    todo = "Try again; if it keeps happening, report it to the provider."

    def __init__(self, provider: str, detail: str) -> None:
        self.detail = detail
        super().__init__(provider, f"{display_provider(provider)} sent an answer we cannot read ({detail}).")


class OutcomeUnknown(ProviderError):
    """An order request may or may not have been charged (timeout after sending, reset, 5xx...).

    Never treat this as FAILED: look the order up before anything else.
    """

    todo = "Do not sell it again: esim-tui checks with the provider and shows the order when it knows."

    def __init__(self, provider: str, cause: ProviderError | None = None, detail: str = "") -> None:
        self.cause = cause
        reason = detail or (cause.what if cause else "no definite answer")
        super().__init__(provider, f"We do not know yet whether the order went through ({reason}).")


class NotOffered(ProviderError):
    """The provider has no such service (Octopus Cards sells no top-ups and publishes no balance)."""

    def __init__(self, provider: str, what: str, todo: str = "") -> None:
        super().__init__(provider, f"{display_provider(provider)} does not offer {what}.", todo)


def display_provider(provider: str) -> str:
    return {"octopus": "Octopus Cards", "esimgo": "eSIM Go"}.get(provider, provider)
