"""POST /auth/login and /auth/refresh: access tokens (1 h) and refresh tokens (7 days) on simulated time."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from esim_tui.sandbox.core import (
    JSONResponse,
)
from esim_tui.sandbox.octopus.base import OctopusBase
from esim_tui.sandbox.octopus.world import (
    ACCESS_TOKEN_SECONDS,
    REFRESH_TOKEN_SECONDS,
    json_object,
)


class AuthEndpoints(OctopusBase):
    """Tokens."""

    def _issue_tokens(self) -> dict[str, Any]:
        now = self.now
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            # Forget what has expired so a long-running sandbox does not grow without end.
            self._tokens.access = {t: e for t, e in self._tokens.access.items() if e > now}
            self._tokens.refresh = {t: e for t, e in self._tokens.refresh.items() if e > now}
            self._tokens.access[access] = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            self._tokens.refresh[refresh] = now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}

    async def _login(self, request: Request) -> Response:
        body = await json_object(request)
        if body is None:
            return self.error(400, "Send a JSON object with client_id and client_secret")
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not isinstance(client_id, str) or not client_id.strip() or not isinstance(secret, str) or not secret:
            return self.error(400, "client_id and client_secret are required")
        if not hmac.compare_digest(secret.encode(), self.state.config.octopus_token.encode()):
            return self.error(401, "Invalid credentials")
        # Token answers are bare objects, as OAuth-style token endpoints answer.
        return JSONResponse(self._issue_tokens())

    async def _refresh_tokens(self, request: Request) -> Response:
        body = await json_object(request)
        token = body.get("refresh_token") if body else None
        if not isinstance(token, str) or not token:
            return self.error(400, "refresh_token is required")
        with self._lock:
            expires = self._tokens.refresh.pop(token, None)  # each refresh token works once
        if expires is None:
            return self.error(401, "Invalid credentials")
        if self.now >= expires:
            return self.error(401, "Authentication required")
        return JSONResponse(self._issue_tokens())
