"""The app factory. The parts (provider, knowledge base, voice, tools, limiter) are built and started in
the lifespan by `core.services.open_services`, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from convoai_llm import __version__
from convoai_llm.api.auth import Authenticator
from convoai_llm.api.context import AppContext
from convoai_llm.api.cors import add_cors
from convoai_llm.api.errors import json_response, to_response
from convoai_llm.api.fastpath import FastPathMiddleware
from convoai_llm.api.guard import RequestGuard
from convoai_llm.api.limits import LimitsMiddleware
from convoai_llm.api.logfilter import escaping
from convoai_llm.api.metrics import Metrics, MetricsMiddleware
from convoai_llm.api.openapi import build_openapi
from convoai_llm.api.playground import router as playground_router
from convoai_llm.api.routes import completion_router, router
from convoai_llm.api.surface import router as surface_router
from convoai_llm.core.pipeline import Pipeline
from convoai_llm.core.services import open_services
from convoai_llm.errors import ConvoError, error_envelope
from convoai_llm.providers.base import Provider, Traits
from convoai_llm.rag.searcher import Searcher
from convoai_llm.settings import Settings

log = logging.getLogger("convoai_llm")


class ConvoApp(FastAPI):
    """FastAPI with our pure ASGI middleware outside its own stack (not inside its error middleware), so
    the chat fast path skips FastAPI's per-request telemetry check and its `send` wrapper on every chunk.
    Our guard answers what escapes our middleware (`api/guard.py`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP goes straight to the middleware stack: FastAPI's own `__call__` checks per request whether
        OpenTelemetry is configured (several `os.environ` reads); this server exports Prometheus metrics."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self.root_path:
            scope["root_path"] = self.root_path
        await Starlette.__call__(self, scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        ours, self.user_middleware = self.user_middleware, []
        try:
            app = super().build_middleware_stack()
        finally:
            self.user_middleware = ours
        for cls, args, kwargs in reversed(ours):
            app = cls(app, *args, **kwargs)
        return app


def create_app(
    settings: Settings | None = None,
    *,
    provider: Provider | None = None,
    traits: Traits | None = None,
    searcher: Searcher | None = None,
) -> FastAPI:
    """The app. `provider` (with its `traits`) and `searcher` replace the configured ones (tests, embedding)."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with escaping(log):
            async with open_services(settings, provider=provider, traits=traits, searcher=searcher) as services:
                app.state.ctx = AppContext(
                    server=settings.server, rag=settings.rag, services=services, pipeline=Pipeline(services),
                    auth=Authenticator(settings.api_keys), metrics=metrics,
                )  # fmt: skip
                prov = services.provider
                log.info("convoai-llm %s ready: provider=%s models=%s", __version__, prov.name, prov.models())
                yield

    app = ConvoApp(title="convoai-llm", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.router.redirect_slashes = False  # a redirect would be built from the request's `Host`: 404 instead
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.include_router(completion_router())
    app.include_router(router)
    app.include_router(playground_router)
    app.include_router(surface_router)
    app.add_middleware(FastPathMiddleware)
    app.add_middleware(LimitsMiddleware, auth=Authenticator(settings.api_keys))
    app.add_middleware(RequestGuard, auth=Authenticator(settings.api_keys), allowed_hosts=tuple(settings.allowed_hosts))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    add_cors(app, settings.cors_origins, settings.cors_allow_credentials)  # outermost; nothing when off

    @app.exception_handler(ConvoError)
    async def convo_error(request: Request, exc: ConvoError) -> Response:
        return to_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return to_response(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = f"Unknown route: {request.method} {request.url.path}"
            return json_response(error_envelope(message, "invalid_request_error", None, "not_found"), 404)
        return json_response(error_envelope(str(exc.detail), "invalid_request_error"), exc.status_code)

    return app
