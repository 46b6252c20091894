"""Checks every HTTP request passes before the rest of the app sees it (pure ASGI, inside the metrics).

- One `Authorization` header at most: auth and the limiter must read the same key (400 otherwise).
- DNS rebinding: with auth off, only loopback `Host`s (`localhost`, `127.0.0.1`, `[::1]`) or the ones in
  `CONVOAI_ALLOWED_HOSTS` (`*`: any) are served (400 otherwise); with auth on, a page cannot send the key.
- `/docs` and `/openapi.json` sit behind the bearer keys when auth is on.
- A request still unanswered when the server's grace period ends (uvicorn cancels it) gets an OpenAI
  error body (503 `server_shutting_down`) instead of uvicorn's plain-text 500.
- Anything else that escapes the layers inside it before a response started gets the error map's OpenAI
  body (FastAPI's own error middleware sits inside ours: `api/app.ConvoApp`).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from convoai_llm.api.auth import Authenticator
from convoai_llm.api.errors import as_convo_error, send_error
from convoai_llm.errors import ConvoError, RequestError, Unavailable

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})


def shutting_down() -> Unavailable:
    return Unavailable("The server is shutting down; the request was ended.", code="server_shutting_down")


def host_name(host: str) -> str:
    """`Host` without its port, lower-case; IPv6 brackets removed (`[::1]:8000` → `::1`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class RequestGuard:
    def __init__(self, app: ASGIApp, auth: Authenticator, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.auth = auth
        self.any_host = "*" in allowed_hosts
        self.hosts = LOOPBACK_HOSTS | {host_name(h) for h in allowed_hosts if h != "*"}

    def check(self, scope: Scope) -> None:
        # One pass over the headers; ASGI servers give their names in lower case.
        auth_headers: list[bytes] = []
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth_headers.append(value)
            elif name == b"host" and host is None:
                host = value
        if len(auth_headers) > 1:
            raise RequestError("Send one `Authorization` header, not several.", code="duplicate_header")
        open_hosts = self.auth.enabled or self.any_host
        if not open_hosts and host is not None and host_name(host.decode("latin-1")) not in self.hosts:
            raise RequestError(
                "This server answers only for loopback host names; set CONVOAI_ALLOWED_HOSTS to serve others.",
                code="host_not_allowed",
            )
        if self.auth.enabled and scope["path"] in DOCS_PATHS:
            self.auth.check(auth_headers[0].decode("latin-1") if auth_headers else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.check(scope)
        except ConvoError as exc:
            await send_error(exc, send)
            return
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            # Only the server cancels a request (at the end of its grace period): answer it properly if
            # nothing was sent yet; after a started response the send fails and the cancellation goes on.
            if not await answered(shutting_down(), send):
                raise
        except Exception as exc:
            if not await answered(as_convo_error(exc, scope["path"]), send):
                raise


async def answered(exc: ConvoError, send: Send) -> bool:
    try:
        await send_error(exc, send)
    except Exception:  # the response had started already
        return False
    return True
