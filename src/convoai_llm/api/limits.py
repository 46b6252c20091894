"""Overload protection, as pure ASGI middleware on the rate-limited routes (the completion routes and the
knowledge-base routes): refuse early, never slow down.

The limiter itself (`core/admission.py`) knows no HTTP; this middleware finds the caller and refuses.

- A global cap on requests in flight (`CONVOAI_MAX_INFLIGHT`): beyond it, 503 + `Retry-After`.
- Per caller (the API key when auth is on and the key is valid, else the client address): a token
  bucket of requests (`CONVOAI_RATE_LIMIT_RPS` refill, `CONVOAI_RATE_LIMIT_BURST` size) and a cap on
  concurrent streams (`CONVOAI_MAX_STREAMS_PER_KEY`): beyond them, 429 + `Retry-After`.
A slot is held until the response has been sent completely (the ASGI call returns), streams included.

"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Receive, Scope, Send

from convoai_llm.api.auth import Authenticator, bearer_token
from convoai_llm.api.errors import send_error
from convoai_llm.api.routespec import KB_PATHS, ROUTES
from convoai_llm.errors import ConvoError


class LimitsMiddleware:
    """Admission for the `RouteSpec`s marked rate-limited; the limiter is the app's (`Services.limiter`)."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth
        self.paths = frozenset(path for spec in ROUTES if spec.rate_limited for path in spec.paths) | set(KB_PATHS)
        self.kb_paths = frozenset(KB_PATHS)

    def caller(self, scope: Scope) -> str:
        if self.auth.enabled:
            headers = dict(scope["headers"])
            token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
            if token is not None and self.auth.is_key(token):
                return "key:" + hashlib.sha256(token.encode()).hexdigest()[:16]
        client = scope.get("client")
        return f"ip:{client[0]}" if client else "ip:unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        limiter = scope["app"].state.ctx.services.limiter
        try:
            if scope["path"] in self.kb_paths:  # the in-flight and concurrency caps, not the request budget
                ticket = await limiter.acquire("kb:" + self.caller(scope), rate=False)
            else:
                ticket = await limiter.acquire(self.caller(scope))
        except ConvoError as exc:
            await send_error(exc, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await limiter.release(ticket)
