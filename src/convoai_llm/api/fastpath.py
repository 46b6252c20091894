"""The hot route without the framework's routing: `POST /chat/completions` (and `/v1/…`).

A pure ASGI middleware, innermost of ours (inside the metrics and limits middleware), that hands the
two chat completion paths straight to the route function and calls its response, skipping Starlette's
router and its two exception wrappers around every chunk `send`. Errors are mapped exactly as the
app's exception handlers map them. Every other request goes on to FastAPI unchanged (the route is
still registered there, for the OpenAPI document).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from convoai_llm.api.routes import chat_completions, error_response, json_response
from convoai_llm.errors import ConvoError, error_envelope

log = logging.getLogger("convoai_llm")
PATHS = frozenset({"/chat/completions", "/v1/chat/completions"})


class FastPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        try:
            response = await chat_completions(Request(scope, receive))
        except ConvoError as exc:
            response = error_response(exc)
        except Exception as exc:
            log.error("unhandled error on %s: %s", scope["path"], type(exc).__name__, exc_info=exc)
            response = json_response(error_envelope("Internal server error.", "server_error"), 500)
        await response(scope, receive, send)
