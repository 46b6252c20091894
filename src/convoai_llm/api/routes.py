"""HTTP routes: each completion route is parse → `pipeline.prepare` → respond, from the route table.

Only the api package imports FastAPI/Starlette. The handler for a `RouteSpec` reads and checks the
request (auth, body cap, validation), asks the core pipeline for a plan, and encodes it: SSE when
`stream` is true, one JSON body otherwise.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from convoai_llm.api.body import read_body, require_json
from convoai_llm.api.context import AppContext
from convoai_llm.api.errors import json_response
from convoai_llm.api.hangup import DisconnectWatch, until_disconnect
from convoai_llm.api.routespec import ROUTES, RouteSpec
from convoai_llm.api.streaming import SSEResponse
from convoai_llm.core.pipeline import collect
from convoai_llm.core.plan import Caller, Plan
from convoai_llm.errors import ClientClosed
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import models_body
from convoai_llm.sse.encoder import hex_id

log = logging.getLogger("convoai_llm.request")
IDENTITY_FIELDS = ("app_id", "channel", "user_uid", "turn_id")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")
Handler = Callable[[Request], Awaitable[Response]]
OPTIONAL_PARTS = frozenset({"rag"})
"""Parts the server serves without (degraded): chat and audio do not need the knowledge base."""


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def request_started(request: Request) -> float:
    started: float = request.scope.get("state", {}).get("started", time.perf_counter())
    return started


async def read_request(request: Request, ctx: AppContext, spec: RouteSpec) -> tuple[ChatRequest, str | None]:
    """Auth, body cap and validation: everything a route checks before it plans anything."""
    token = ctx.auth.check(request.headers.get("authorization"))
    body = await read_body(request, ctx.server.max_body_bytes, ctx.server.body_timeout_s)
    require_json(request.headers.get("content-type"))
    req = spec.parse(body)
    if log.isEnabledFor(logging.DEBUG):  # field names only: never values, never headers
        extra = sorted(req.model_extra or {})
        log.debug("request %s messages=%d ignored_fields=%s", spec.path, len(req.messages), extra)
    return req, token


def identity(req: ChatRequest) -> dict[str, str]:
    """The caller's identity for the log line, reduced to safe characters (no log injection)."""
    extra = req.model_extra or {}
    return {
        k: _UNSAFE.sub("_", str(extra[k]))[:64]
        for k in IDENTITY_FIELDS
        if k in extra and isinstance(extra[k], str | int)
    }


async def respond(ctx: AppContext, plan: Plan, spec: RouteSpec, started: float) -> Response:
    req = plan.request
    encoder = spec.encoder(plan.model, req)

    def on_done(outcome: dict[str, Any]) -> None:
        if log.isEnabledFor(logging.INFO):  # built only when it is written
            fields = {"route": spec.path, "id": encoder.id, "model": _UNSAFE.sub("_", plan.model)[:64],
                      "stream": req.stream, **identity(req), **outcome}  # fmt: skip
            log.info("request %s", " ".join(f"{k}={v}" for k, v in fields.items()))

    if req.stream:
        return SSEResponse(
            plan, encoder, route=spec.path, metrics=ctx.metrics, keepalive_s=ctx.server.keepalive_interval_s,
            started=started, on_done=on_done,
        )  # fmt: skip
    agg = await collect(plan)
    on_done({"outcome": "ok", "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return json_response(encoder.body(agg), headers=plan.headers or None)


def handler(spec: RouteSpec) -> Handler:
    """The route function for one completion route."""
    prefix = "audio_" if spec.kind == "audio" else ""

    async def complete(request: Request) -> Response:
        ctx = app_context(request)
        started = request_started(request)
        req, token = await read_request(request, ctx, spec)
        caller = Caller(token, prefix + hex_id())

        async def answer() -> Response:
            plan = await ctx.pipeline.prepare(spec.kind, req, caller)
            return await respond(ctx, plan, spec, started)

        watch = DisconnectWatch(request.receive)  # the request's one watch: a stream takes it over
        handed_over = False
        try:
            response = await until_disconnect(request.receive, answer(), watch=watch)
            if isinstance(response, SSEResponse):
                response.watch, handed_over = watch, True
            return response
        except ClientClosed:
            ctx.metrics.route(spec.path).disconnects.inc()
            log.info("request route=%s outcome=client_disconnected before_first_byte=true", spec.path)
            raise
        finally:
            if not handed_over:
                watch.stop()

    complete.__name__ = spec.kind + "_" + spec.path.strip("/").replace("/", "_")
    return complete


def completion_router(routes: tuple[RouteSpec, ...] = ROUTES) -> APIRouter:
    router = APIRouter()
    for spec in routes:
        endpoint = handler(spec)
        for path in spec.paths:
            router.add_api_route(path, endpoint, methods=["POST"], name=f"{endpoint.__name__}:{path}")
    return router


router = APIRouter()


@router.get("/models")
@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    return json_response(models_body(ctx.services.router.models()))


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    ctx = app_context(request)
    """Ready (200), degraded (200: only the knowledge base fails, RAG answers without passages) or not
    ready (503); `failed` names the parts that do not answer."""
    checks = {name: bool(await part.ready()) for name, part in ctx.services.parts}
    failed = [name for name, ok in checks.items() if not ok]
    status = "ready" if not failed else "degraded" if set(failed) <= OPTIONAL_PARTS else "not_ready"
    body = {"status": status, "checks": checks, "failed": failed}
    return json_response(body, 503 if status == "not_ready" else 200)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
