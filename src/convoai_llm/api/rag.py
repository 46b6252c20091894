"""`POST /rag/chat/completions`: the waiting chunk, retrieval, the passages in the prompt, the answer.

When streaming, the waiting message is the first content chunk and leaves before retrieval starts;
retrieval and the provider then run inside the stream (their errors travel in it). Retrieval has a
time budget: past it, the answer goes on without passages rather than leaving the caller in silence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response

from convoai_llm.api.routes import (
    app_context,
    read_chat_request,
    repeat_assistant,
    request_started,
    respond,
    wants_repeat,
)
from convoai_llm.errors import Unavailable
from convoai_llm.events import Event, Sources, TextDelta
from convoai_llm.providers.base import ProviderRequest

log = logging.getLogger("convoai_llm.rag")
router = APIRouter()


class Searcher(Protocol):
    async def search(self, query: str, k: int | None = None) -> list[Any]: ...


class RagStage:
    """Retrieval as a pipeline stage: rewrites the provider request with the passages."""

    def __init__(self, searcher: Searcher, top_k: int, timeout_s: float, report_sources: bool = False) -> None:
        self.searcher = searcher
        self.top_k = top_k
        self.timeout_s = timeout_s
        self.report_sources = report_sources

    async def ready(self) -> bool:
        ping = getattr(self.searcher, "ping", None)
        return True if ping is None else bool(await ping())

    def for_request(self, report_sources: bool | None) -> RagStage:
        """This stage, with the request's own `rag_sources` choice when it made one."""
        if report_sources is None or report_sources == self.report_sources:
            return self
        return RagStage(self.searcher, self.top_k, self.timeout_s, report_sources)

    async def __call__(self, preq: ProviderRequest) -> tuple[ProviderRequest, list[Event]]:
        from convoai_llm.rag.prompt import inject_passages, query_for

        query = query_for(preq.messages)
        passages: list[Any] = []
        if query:
            try:
                async with asyncio.timeout(self.timeout_s):
                    passages = await self.searcher.search(query, self.top_k)
            except TimeoutError:
                log.warning("retrieval exceeded %.1f s; answering without passages", self.timeout_s)
        log.debug("retrieved %d passages for request %s", len(passages), preq.request_id)
        rewritten = dataclasses.replace(preq, messages=inject_passages(preq.messages, passages))
        if not self.report_sources:
            return rewritten, []
        items = tuple(
            {"title": p.title, "source": p.source, "chunk_id": p.chunk_id, "score": round(float(p.score), 4)}
            for p in passages
        )
        return rewritten, [Sources(items)]


def waiting_text(configured: str | None, messages: list[dict[str, Any]]) -> str:
    if configured is not None:
        return configured
    from convoai_llm.rag.prompt import detect_language, query_for, waiting_message

    return waiting_message(detect_language(query_for(messages)))


@router.post("/rag/chat/completions")
@router.post("/v1/rag/chat/completions")
async def rag_chat_completions(request: Request) -> Response:
    ctx = app_context(request)
    started = request_started(request)
    req, token = await read_chat_request(request, ctx)
    if wants_repeat(ctx, req):
        return await respond(ctx, repeat_assistant(req), "/rag/chat/completions", started)
    stage: RagStage | None = ctx.extras.get("rag")
    if stage is None:
        raise Unavailable("The knowledge base is not available (install the `rag` extra: make setup).")
    lead: list[Event] = []
    if req.stream:
        text = waiting_text(ctx.settings.rag_waiting_message, [m.to_upstream() for m in req.messages])
        if text:
            # A space after a Latin-script line, so the spoken text and the engine's history read
            # "…for you. The price…" rather than "…for you.The price…" (Chinese needs none).
            lead.append(TextDelta(text + " " if text[-1].isascii() and not text[-1].isspace() else text))
    wanted = (req.model_extra or {}).get("rag_sources")
    stage = stage.for_request(wanted if isinstance(wanted, bool) else None)
    plan = await ctx.pipeline.prepare(req, caller_token=token, request_id=uuid.uuid4().hex, rewrite=stage, lead=lead)
    return await respond(ctx, plan, "/rag/chat/completions", started)
