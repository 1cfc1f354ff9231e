"""What makes the service safe to expose: a bearer token, and a limit on request bodies.

The token is ``MLOPS_SPEC_SERVING_TOKEN`` from the environment, or ``prefect-secret:<block>``
there to take it from a Prefect Secret block. ``serve`` resolves it once, before the workers
start (they inherit the value), and masks it in every log line from then on
(``secrets.remember``); it is never written out. With a token, ``/predict`` and ``/metrics``
want ``Authorization: Bearer <token>`` (compared in constant time) and answer 401 otherwise;
``/health`` and ``/ready`` stay open for probes. Without one, the service trusts whoever
reaches it, which by default is only this machine (``serve`` binds 127.0.0.1).

Bodies are limited by a small ASGI middleware: Starlette reads a body whole before a route
sees it, so the limit must sit in front of it. A ``Content-Length`` over the limit is refused
with 413 before anything is read, and a chunked body gets the same 413 once it passes the
limit.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mlops_spec import secrets

TOKEN_VARIABLE = "MLOPS_SPEC_SERVING_TOKEN"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def resolve_token(environ: MutableMapping[str, str] | None = None) -> str | None:
    """The service's token from ``MLOPS_SPEC_SERVING_TOKEN`` (a Prefect Secret block when it
    says ``prefect-secret:<block>``), remembered for masking; ``None`` when unset or empty."""
    value = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "").strip()
    if not value:
        return None
    token = secrets.resolve(value)
    if token:
        secrets.remember(token)
    return token or None


def bearer_check(token: str | None) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that refuses a missing or wrong bearer token with 401."""
    scheme = HTTPBearer(auto_error=False, description="MLOPS_SPEC_SERVING_TOKEN")

    async def check(  # async: FastAPI would run a plain function in its thread pool
        credentials: HTTPAuthorizationCredentials | None = Security(scheme),  # noqa: B008
    ) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401,
                "missing or wrong bearer token" if given else "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            """The body as it arrives; past the limit, a 413 the app's handlers send (a
            ``HTTPException``, which FastAPI passes through its body parsing)."""
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"request body larger than {self.max_bytes} bytes (serving.max_body_kb)"

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self._detail()}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
