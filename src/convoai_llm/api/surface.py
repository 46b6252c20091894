"""Routes beyond chat completions: the Responses API, legacy completions, one model, `/ping`.

- `POST /v1/responses` (and `/responses`): the OpenAI Responses API, stream or not. The body becomes
  the chat request (`schemas/responses.py`) and goes through the same pipeline; `sse/responses.py`
  encodes the events. **RAG**: the same API under the RAG prefix, `POST /v1/rag/responses` (and
  `/rag/responses`), as the chat routes do (`/v1/rag/chat/completions`): a client switches by its
  base URL (`…/v1/rag`), which every SDK lets you set.
- `POST /v1/completions` (and `/completions`): legacy text completions, `prompt` answered as one
  user turn (`schemas/completions.py`, `sse/completions.py`).
- `GET /v1/models/{id}` (and `/models/{id}`): the model object, or 404 `model_not_found`.
- `GET /ping` → `{"message": "pong"}` (Agora's sample), no auth, like `/healthz`.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from convoai_llm.api.body import read_body
from convoai_llm.api.context import AppContext
from convoai_llm.api.rag import RagStage, waiting_text
from convoai_llm.api.routes import app_context, identity, json_response, repeat_assistant, request_started, wants_repeat
from convoai_llm.api.wire_stream import WireEncoder, WireSSEResponse
from convoai_llm.core.pipeline import Plan
from convoai_llm.errors import ModelNotFound, Unavailable
from convoai_llm.events import Event, TextDelta
from convoai_llm.schemas.completions import parse_completion_request
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import models_body
from convoai_llm.schemas.responses import parse_responses_request
from convoai_llm.sse.completions import CompletionEncoder
from convoai_llm.sse.responses import ResponsesEncoder

log = logging.getLogger("convoai_llm.request")
router = APIRouter()
Kind = Literal["chat", "rag"]


@router.get("/ping")
async def ping() -> Response:
    return json_response({"message": "pong"})


@router.get("/models/{model_id:path}")
@router.get("/v1/models/{model_id:path}")
async def get_model(request: Request, model_id: str) -> Response:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    if model_id not in ctx.router.models():
        raise ModelNotFound(f"The model `{model_id[:128]}` does not exist.", param="model")
    return json_response(models_body([model_id])["data"][0])


@router.post("/responses")
@router.post("/v1/responses")
@router.post("/rag/responses")
@router.post("/v1/rag/responses")
async def responses(request: Request) -> Response:
    ctx, started = app_context(request), request_started(request)
    token = ctx.auth.check(request.headers.get("authorization"))
    parsed = parse_responses_request(await read_body(request, ctx.settings.max_body_bytes, ctx.settings.body_timeout_s))
    req = parsed.to_chat()
    kind: Kind = "rag" if request.url.path.removeprefix("/v1").startswith("/rag/") else "chat"
    plan = await prepare(ctx, kind, req, token)
    route = "/rag/responses" if kind == "rag" else "/responses"
    return await answer(ctx, plan, ResponsesEncoder(plan.model, parsed.echo()), route, started)


@router.post("/completions")
@router.post("/v1/completions")
async def completions(request: Request) -> Response:
    ctx, started = app_context(request), request_started(request)
    token = ctx.auth.check(request.headers.get("authorization"))
    req = parse_completion_request(await read_body(request, ctx.settings.max_body_bytes, ctx.settings.body_timeout_s))
    chat = req.to_chat()
    plan = await prepare(ctx, "chat", chat, token)
    return await answer(ctx, plan, CompletionEncoder(plan.model, include_usage=chat.include_usage), "/completions",
                        started)  # fmt: skip


async def prepare(ctx: AppContext, kind: Kind, req: ChatRequest, token: str | None) -> Plan:
    """The chat or RAG plan, as the chat routes make it."""
    if wants_repeat(ctx, req):
        return repeat_assistant(req)
    if kind == "chat":
        return await ctx.pipeline.prepare(req, caller_token=token, request_id=uuid.uuid4().hex)
    stage: RagStage | None = ctx.extras.get("rag")
    if stage is None:
        raise Unavailable("The knowledge base is not available (install the `rag` extra: make setup).")
    lead: list[Event] = []
    if req.stream:
        text = waiting_text(ctx.settings.rag_waiting_message, [m.to_upstream() for m in req.messages])
        if text:
            lead.append(TextDelta(text + " " if text[-1].isascii() and not text[-1].isspace() else text))
    wanted = (req.model_extra or {}).get("rag_sources")
    stage = stage.for_request(wanted if isinstance(wanted, bool) else None)
    return await ctx.pipeline.prepare(req, caller_token=token, request_id=uuid.uuid4().hex, rewrite=stage, lead=lead)


async def answer(ctx: AppContext, plan: Plan, wire: ResponsesEncoder | CompletionEncoder, route: str,
                 started: float) -> Response:  # fmt: skip
    fields = {"route": route, "id": wire.id, "model": plan.model, "stream": plan.request.stream,
              **identity(plan.request)}  # fmt: skip

    def on_done(outcome: dict[str, Any]) -> None:
        log.info("request %s", " ".join(f"{k}={v}" for k, v in {**fields, **outcome}.items()))

    if plan.request.stream:
        encoder: WireEncoder = wire
        keepalive = ctx.settings.keepalive_interval_s
        return WireSSEResponse(plan, encoder, route=route, metrics=ctx.metrics, keepalive_s=keepalive,
                               started=started, on_done=on_done)  # fmt: skip
    try:
        async for ev in plan.events:
            wire.encode(ev)
    finally:
        await plan.aclose()
    on_done({"outcome": "ok", "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return json_response(wire.body())
