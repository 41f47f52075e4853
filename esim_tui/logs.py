"""The app's log: a private rotating file, and a filter that keeps secrets and activation codes out of it.

Every record passes ``Redactor`` before it is written: the configured secret values (API keys, tokens,
also URL-encoded), the values of Authorization and X-API-Key headers however they are printed (HTTP
text, dict or tuple reprs, bytes), bearer tokens, secret query parameters, and the matching ID of
every ``LPA:1$<SM-DP+>$<matching id>`` activation code (the host stays, for support). It works on the
formatted message and on the exception text, so a traceback whose exception message holds the key is
written redacted too. httpx and httpcore log at WARNING only: their INFO lines carry whole URLs.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from esim_tui.store.storage import FILE_MODE, ensure_private_file, ensure_private_folder

__all__ = ["LOG_FORMAT", "Redactor", "configure_logging", "redact_lpa"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000
BACKUPS = 3
MASK = "***"
#: Loggers whose INFO lines hold full URLs (query strings included).
NOISY = ("httpx", "httpcore")

_SECRET_HEADER = re.compile(
    r"""(?P<name>\b(?:proxy-)?authorization|\bx-api-key)"""
    r"""(?P<sep>['"]?\s*[:=,]\s*(?:b?['"])?)"""
    r"""(?P<scheme>(?:bearer|basic|token)\s+)?"""
    r"""(?!\[secure\])(?P<value>[^\s'",;)}\]]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>bearer\s+)(?P<value>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<name>\b(?:api[_-]?key|access_token|refresh_token|token|password|secret)(?:['\"]?\s*[:=]\s*['\"]?))(?P<value>[^\s&'\",;)}\]]+)",
    re.IGNORECASE,
)
# "$" may be percent-encoded (install links); the matching ID ends at the next field or quote.
# (?!\*): an ID masked already is left alone, so redacting twice (two handlers) changes nothing.
_DOLLAR = r"(?:\$|%24)"
_LPA = re.compile(
    rf"(?P<head>LPA(?::|%3A)1{_DOLLAR}[^$%\s'\"<>]+{_DOLLAR})(?!\*)(?P<value>[^$%\s'\",;)}}\]<>&]+)",
    re.IGNORECASE,
)
_MATCHING_ID = re.compile(r"(?P<head>matching_?id['\"]?\s*[:=]\s*['\"]?)(?P<value>[A-Za-z0-9-]+)", re.IGNORECASE)


def _mask_id(matching_id: str) -> str:
    # The last 4 characters let support tell codes apart; short IDs are masked whole.
    return MASK + matching_id[-4:] if len(matching_id) > 8 else MASK


def redact_lpa(text: str) -> str:
    """``text`` with the matching ID of every activation code masked; the SM-DP+ host is kept."""
    text = _LPA.sub(lambda m: m["head"] + _mask_id(m["value"]), text)
    return _MATCHING_ID.sub(lambda m: m["head"] + _mask_id(m["value"]), text)


class Redactor(logging.Filter):
    """A logging filter that rewrites each record's message and exception text without secrets.

    It never drops a record. Attach it to handlers (a logger's own filters do not see records that
    propagate from child loggers).
    """

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        super().__init__()
        values: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value and value.strip():
                values.update({value, quote(value, safe=""), quote_plus(value)})
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(values, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        text = _SECRET_HEADER.sub(lambda m: m["name"] + m["sep"] + (m["scheme"] or "") + MASK, text)
        text = _BEARER.sub(lambda m: m["scheme"] + MASK, text)
        text = _SECRET_PARAM.sub(lambda m: m["name"] + MASK, text)
        return redact_lpa(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record, nor leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        # The redacted text stands in for the exception: no handler may render the original again
        # (a rich traceback would also print the frames' locals).
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log file created 0600, like every file esim-tui keeps (rotation renames keep it)."""

    def _open(self):
        return open(
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=lambda path, flags: os.open(path, flags, FILE_MODE),
        )


_installed: list[logging.Handler] = []


def configure_logging(
    log_file: Path | None, secrets: Iterable[str | SecretStr], *, level: int = logging.INFO
) -> logging.Handler:
    """Set up the app's log and return its handler. Safe to call again (the previous one is replaced).

    ``log_file``: the rotating log in the data folder (its folder is created 0700, the file 0600);
    None logs warnings and errors to stderr instead (command-line use, never while the TUI draws).
    ``secrets``: every configured secret value (provider tokens and API keys), as str or SecretStr;
    pass real secrets only, as each value is masked wherever it appears.
    The redacting filter is also put on every handler the root logger already has.
    """
    root = logging.getLogger()
    for old in _installed:
        root.removeHandler(old)
        old.close()
    _installed.clear()

    redactor = Redactor(secrets)
    handler: logging.Handler
    if log_file is not None:
        log_file = Path(log_file)
        ensure_private_folder(log_file.parent)
        handler = _PrivateRotatingFile(log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        ensure_private_file(log_file)  # a file from an earlier version, or copied in
        handler.setLevel(level)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(max(level, logging.WARNING))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for existing in root.handlers:
        for stale in [f for f in existing.filters if isinstance(f, Redactor)]:
            existing.removeFilter(stale)
        existing.addFilter(redactor)
    handler.addFilter(redactor)
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
