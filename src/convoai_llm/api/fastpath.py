"""The completion routes without the framework's routing.

A pure ASGI middleware, innermost of ours (inside the metrics and limits middleware), that hands every
`RouteSpec` path straight to its handler and calls the response, skipping Starlette's router and its
two exception wrappers around every chunk `send`. Errors go through the one error map. Every other
request goes on to FastAPI unchanged (the routes are still registered there, for the OpenAPI document).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from convoai_llm.api.errors import to_response
from convoai_llm.api.routes import handler
from convoai_llm.api.routespec import ROUTES


class FastPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handlers = {path: handler(spec) for spec in ROUTES for path in spec.paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.handlers:
            await self.app(scope, receive, send)
            return
        try:
            response = await self.handlers[scope["path"]](Request(scope, receive))
        except Exception as exc:
            response = to_response(exc, scope["path"])
        await response(scope, receive, send)
