"""The app factory. Shared clients, models and stores are built in the lifespan, never at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from convoai_llm import __version__
from convoai_llm.api.audio import router as audio_router
from convoai_llm.api.auth import Authenticator
from convoai_llm.api.context import AppContext
from convoai_llm.api.fastpath import FastPathMiddleware
from convoai_llm.api.limits import LimitsMiddleware, build_limiter
from convoai_llm.api.metrics import Metrics, MetricsMiddleware
from convoai_llm.api.openapi import build_openapi
from convoai_llm.api.playground import router as playground_router
from convoai_llm.api.rag import RagStage, Searcher
from convoai_llm.api.rag import router as rag_router
from convoai_llm.api.routes import error_response, json_response, router
from convoai_llm.core.pipeline import Pipeline
from convoai_llm.errors import ConvoError, error_envelope
from convoai_llm.providers.base import Provider
from convoai_llm.providers.router import Router
from convoai_llm.settings import Settings
from convoai_llm.speech import VoiceSet

log = logging.getLogger("convoai_llm")


def build_provider(settings: Settings) -> Provider:
    if settings.effective_provider == "openai":
        from convoai_llm.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(settings)
    from convoai_llm.providers.local import LocalProvider

    return LocalProvider(settings)


def build_rag(settings: Settings) -> RagStage | None:
    """The retriever over the knowledge base, or None when the `rag` extra is not installed."""
    try:
        from convoai_llm.rag.retrieve import Retriever
    except ImportError as exc:
        log.warning("RAG disabled: %s", exc)
        return None
    if not settings.kb_url:
        settings.kb_path.parent.mkdir(parents=True, exist_ok=True)
    kb = settings.kb_url or settings.kb_path
    if settings.rag_min_score is None:
        retriever = Retriever(kb, top_k=settings.rag_top_k)
    else:
        retriever = Retriever(kb, top_k=settings.rag_top_k, min_score=settings.rag_min_score)
    return RagStage(retriever, settings.rag_top_k, settings.rag_timeout_s, settings.rag_report_sources)


def build_speech(settings: Settings) -> dict[str, object]:
    """The voices (started in the lifespan) and the clip library, when the speech code and its inputs are there."""
    from convoai_llm.speech import ClipLibrary, build_voices

    parts: dict[str, object] = {"tts": build_voices(settings.tts_english_voice, piper_model=settings.piper_model)}
    if settings.audio_dir is not None:
        parts["clips"] = ClipLibrary.load(settings.audio_dir)
    return parts


def create_app(
    settings: Settings | None = None, *, provider: Provider | None = None, searcher: Searcher | None = None
) -> FastAPI:
    """The app. `provider` and `searcher` replace the configured ones (tests, embedding)."""
    settings = settings or Settings()
    metrics = Metrics()
    limiter = build_limiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prov = provider or build_provider(settings)
        load = getattr(prov, "load", None)
        if load is not None:
            await asyncio.to_thread(load)
        if searcher is not None:
            rag: RagStage | None = RagStage(
                searcher, settings.rag_top_k, settings.rag_timeout_s, settings.rag_report_sources
            )
        else:
            rag = await asyncio.to_thread(build_rag, settings)
        background: list[asyncio.Task[None]] = []
        watch = getattr(rag.searcher, "watch", None) if rag else None
        if watch is not None:
            background.append(asyncio.create_task(watch(settings.rag_refresh_interval_s)))
        if settings.tools_config is not None:
            from convoai_llm.providers.tooling import ToolingProvider
            from convoai_llm.tools import ToolRegistry

            registry = await ToolRegistry.from_config(settings.tools_config, searcher=rag.searcher if rag else None)
            prov = ToolingProvider(prov, registry, settings)
        routes = Router(prov, settings.default_model)
        ctx = AppContext(
            settings=settings,
            provider=prov,
            router=routes,
            pipeline=Pipeline(routes),
            auth=Authenticator(settings.api_keys),
            metrics=metrics,
        )
        if rag is not None:
            ctx.extras["rag"] = rag
        ctx.extras.update(await asyncio.to_thread(build_speech, settings))
        voices = ctx.extras["tts"]
        if isinstance(voices, VoiceSet):  # speech/: wire into core with the redesign (start, ready, aclose)
            await voices.start()
        if hasattr(limiter, "ready"):
            ctx.extras["limits"] = limiter  # shared limits: /readyz reports whether Redis answers
        app.state.ctx = ctx
        log.info("convoai-llm %s ready: provider=%s models=%s", __version__, prov.name, prov.models())
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            close_limiter = getattr(limiter, "aclose", None)
            if close_limiter is not None:
                await close_limiter()
            close_kb = getattr(rag.searcher, "close", None) if rag else None
            if close_kb is not None:
                await asyncio.to_thread(close_kb)
            await prov.aclose()
            if isinstance(voices, VoiceSet):
                await voices.aclose()

    app = FastAPI(title="convoai-llm", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.include_router(router)
    app.include_router(rag_router)
    app.include_router(audio_router)
    app.include_router(playground_router)
    app.add_middleware(FastPathMiddleware)
    app.add_middleware(LimitsMiddleware, limiter=limiter, auth=Authenticator(settings.api_keys))
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(ConvoError)
    async def convo_error(request: Request, exc: ConvoError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = f"Unknown route: {request.method} {request.url.path}"
            return json_response(error_envelope(message, "invalid_request_error", None, "not_found"), 404)
        return json_response(error_envelope(str(exc.detail), "invalid_request_error"), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s: %s", request.url.path, type(exc).__name__, exc_info=exc)
        return json_response(error_envelope("Internal server error.", "server_error"), 500)

    return app
