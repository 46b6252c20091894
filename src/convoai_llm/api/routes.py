"""HTTP routes. Only this layer (and app.py) imports FastAPI/Starlette."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from convoai_llm.api.body import read_body
from convoai_llm.api.context import AppContext
from convoai_llm.api.streaming import SSEResponse
from convoai_llm.core.pipeline import Plan, collect
from convoai_llm.errors import ConvoError
from convoai_llm.events import Event, Finish, Metadata, TextDelta
from convoai_llm.schemas.request import ChatRequest, parse_chat_request
from convoai_llm.schemas.response import completion_body, models_body
from convoai_llm.sse.encoder import ChunkEncoder

log = logging.getLogger("convoai_llm.request")
router = APIRouter()
IDENTITY_FIELDS = ("app_id", "channel", "user_uid", "turn_id")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_response(exc: ConvoError) -> Response:
    return json_response(exc.envelope(), exc.status, exc.headers())


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def request_started(request: Request) -> float:
    started: float = request.scope.get("state", {}).get("started", time.perf_counter())
    return started


async def read_chat_request(request: Request, ctx: AppContext) -> tuple[ChatRequest, str | None]:
    """Auth, body cap and validation: everything the routes check before they plan anything."""
    token = ctx.auth.check(request.headers.get("authorization"))
    body = await read_body(request, ctx.settings.max_body_bytes, ctx.settings.body_timeout_s)
    req = parse_chat_request(body)
    if log.isEnabledFor(logging.DEBUG):  # field names only: never values, never headers
        extra = sorted(req.model_extra or {})
        log.debug(
            "request %s messages=%d model=%s ignored_fields=%s", request.url.path, len(req.messages), req.model, extra
        )
    return req, token


def identity(req: ChatRequest) -> dict[str, str]:
    """The caller's identity for the log line, reduced to safe characters (no log injection)."""
    extra = req.model_extra or {}
    return {
        k: _UNSAFE.sub("_", str(extra[k]))[:64]
        for k in IDENTITY_FIELDS
        if k in extra and isinstance(extra[k], str | int)
    }


ROUTE_METADATA = {
    "/chat/completions": "chat_custom_metadata",
    "/rag/chat/completions": "rag_custom_metadata",
    "/audio/chat/completions": "audio_custom_metadata",
}


def custom_metadata(ctx: AppContext, req: ChatRequest, route: str) -> Metadata | None:
    """The engine's custom_metadata chunk: the request's own `custom_metadata`, else the route's setting."""
    override = (req.model_extra or {}).get("custom_metadata")
    if isinstance(override, dict):
        return Metadata(override) if override else None
    configured = getattr(ctx.settings, ROUTE_METADATA[route], None)
    return Metadata(configured) if configured else None


def repeat_assistant(req: ChatRequest) -> Plan:
    """The reply is the last assistant turn's text, spoken as is (no LLM call)."""

    async def events() -> AsyncIterator[Event]:
        yield TextDelta(req.messages[-1].text())
        yield Finish("stop")

    return Plan(req, "repeat", events())


def wants_repeat(ctx: AppContext, req: ChatRequest) -> bool:
    last = req.messages[-1]
    return ctx.settings.text_assistant_last == "repeat" and last.role == "assistant" and bool(last.text().strip())


async def respond(ctx: AppContext, plan: Plan, route: str, started: float) -> Response:
    req = plan.request
    metadata = custom_metadata(ctx, req, route)
    if metadata is not None:
        plan.prefix.insert(0, metadata)
    encoder = ChunkEncoder(plan.model)
    fields = {"route": route, "id": encoder.id, "model": plan.model, "stream": req.stream, **identity(req)}

    def on_done(outcome: dict[str, Any]) -> None:
        log.info("request %s", " ".join(f"{k}={v}" for k, v in {**fields, **outcome}.items()))

    if req.stream:
        return SSEResponse(
            plan, encoder, route=route, metrics=ctx.metrics, keepalive_s=ctx.settings.keepalive_interval_s,
            started=started, on_done=on_done,
        )  # fmt: skip
    agg = await collect(plan)
    on_done({"outcome": "ok", "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return json_response(completion_body(encoder.id, plan.model, agg, encoder.created))


@router.post("/chat/completions")
@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    ctx = app_context(request)
    started = request_started(request)
    req, token = await read_chat_request(request, ctx)
    if wants_repeat(ctx, req):
        return await respond(ctx, repeat_assistant(req), "/chat/completions", started)
    plan = await ctx.pipeline.prepare(req, caller_token=token, request_id=uuid.uuid4().hex)
    return await respond(ctx, plan, "/chat/completions", started)


@router.get("/models")
@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    return json_response(models_body(ctx.router.models()))


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    ctx = app_context(request)
    checks = {"provider": await ctx.provider.ready()}
    for name, part in ctx.extras.items():
        ready = getattr(part, "ready", None)
        if ready is not None:
            checks[name] = bool(await ready())
    ok = all(checks.values())
    return json_response({"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
