"""Retrieval, the RAG request kind's stage: the waiting line, the query, the passages, the sources.

When streaming, the waiting line is the first content chunk and leaves before retrieval starts (the
language of the last user turn picks it, unless `CONVOAI_RAG_WAITING_MESSAGE` sets one; "" turns it
off). Retrieval then runs inside the stream with a time budget: past it, or when the knowledge base
fails (its own store errors, a database error), the answer goes on without passages — the model is
told the knowledge base has nothing — rather than leaving the caller in silence. The failure is logged
once per state change (failing → recovered), never per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from convoai_llm.errors import KnowledgeBaseUnavailable
from convoai_llm.events import Event, Sources, TextDelta
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.providers.local_budget import PromptBudget
from convoai_llm.rag.passage import Passage
from convoai_llm.rag.prompt import detect_language, inject_passages, query_for, waiting_message
from convoai_llm.rag.searcher import Searcher
from convoai_llm.settings import RagSettings
from convoai_llm.text import language_of

log = logging.getLogger("convoai_llm.rag")
MAX_QUERY_CHARS = 2000
"""The longest query a search gets (the end of the question beyond it): a search runs in a thread that a
timeout cannot stop, so its CPU is bounded by bounding its input."""


def public_source(source: str) -> str:
    """A document's name as the API shows it: relative to the server's working directory when it lies
    inside it (`examples/knowledge/en/pricing.md`), else its folder and file name (`en/pricing.md`) —
    never the server's absolute path."""
    path = PurePath(source)
    if not path.is_absolute():
        return source
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return PurePath(*path.parts[-2:]).as_posix() if len(path.parts) > 2 else path.name


def passage_wire(p: Passage, rank: int | None = None) -> dict[str, Any]:
    """A passage as the API shows it (sources chunk, `/v1/kb/search`)."""
    out: dict[str, Any] = {"title": p.title, "source": public_source(p.source), "chunk_id": p.chunk_id,
                           "score": round(float(p.score), 4)}  # fmt: skip
    if rank is not None:
        out = {"object": "kb.passage", "rank": rank, **out, "text": p.text}
    return out


def waiting_line(configured: str | None, messages: Sequence[dict[str, Any]]) -> TextDelta | None:
    """The line spoken while retrieval runs, or None when switched off."""
    text = configured if configured is not None else waiting_message(language_of(query_for(messages)))
    if not text:
        return None
    # A space after a Latin-script line, so the spoken text and the engine's history read
    # "…for you. The price…" rather than "…for you.The price…" (Chinese needs none).
    return TextDelta(text + " " if text[-1].isascii() and not text[-1].isspace() else text)


class Retrieval:
    """`budget`: what the answering model can read in time (the embedded model: the best one or two
    passages, each cut to the sentences the question needs); None: every passage retrieved, whole."""

    def __init__(self, searcher: Searcher, settings: RagSettings, budget: PromptBudget | None = None) -> None:
        self.searcher = searcher
        self.settings = settings
        self.budget = budget
        self._failing = False

    async def search(self, query: str, k: int) -> Sequence[Passage]:
        """Passages for `query`; [] past the time budget or when the knowledge base fails."""
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                passages = await self.searcher.search(query, k)
        except TimeoutError:
            log.warning("retrieval exceeded %.1f s; answering without passages", self.settings.timeout_s)
            return []
        except Exception as exc:  # the store's own errors, a database error: one map, here
            if not self._failing and not isinstance(exc, KnowledgeBaseUnavailable):  # that one logs itself
                log.error("knowledge base failed (%s); answering without passages", type(exc).__name__)
            self._failing = True
            return []
        if self._failing:
            log.warning("knowledge base answers again")
            self._failing = False
        return passages

    async def rewrite(self, preq: ProviderRequest, report_sources: bool) -> tuple[ProviderRequest, list[Event]]:
        """The provider request with the passages added, and the events to send before the answer."""
        query = query_for(preq.messages)[-MAX_QUERY_CHARS:]  # a search thread cannot be stopped: bound its work
        passages = list(await self.search(query, self.settings.top_k)) if query else []
        if self.budget is not None:  # the local model: its own short prompt, the passages by the last turn
            budget = self.budget
            passages = [
                dataclasses.replace(p, text=budget.focus(p.text, query)) for p in budget.select(passages, query)
            ]
            lang = detect_language(query_for(preq.messages))
            messages = budget.prompt(preq.messages, [p.text for p in passages], lang)
        else:
            messages = inject_passages(preq.messages, passages)
        log.debug("retrieved %d passages for request %s", len(passages), preq.request_id)
        rewritten = dataclasses.replace(preq, messages=messages)
        if not report_sources:
            return rewritten, []
        return rewritten, [Sources(tuple(passage_wire(p) for p in passages))]
