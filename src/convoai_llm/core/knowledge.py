"""The knowledge base as a component: the RAG retriever, kept fresh while the server runs, and degraded
rather than fatal when the store is damaged.

`start` opens the store (blocking work in a thread) and launches the watch task (a document added with
`kb add` while the server runs is searchable within `CONVOAI_RAG_REFRESH_INTERVAL_S`; while the KB keeps
changing, as during a long `kb add`, the index is rebuilt at most every `CONVOAI_RAG_REFRESH_MAX_STALE_S`
and once more when the writes stop, so the rebuilds do not take the cores from the searches). A store that
cannot be opened or refreshed (a corrupt SQLite file, a database that is down) never stops the server:
chat and audio serve, RAG answers without passages (`search` raises `KnowledgeBaseUnavailable`, which
the retrieval stage maps to "no passages"), `/readyz` reports `rag: false`, and one line is logged per
state change (failing → answering again), never per poll. A store that failed to open is retried every
`REOPEN_INTERVAL_S`. `aclose` stops the task and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoai_llm.core.retrieval import public_source
from convoai_llm.errors import KnowledgeBaseUnavailable
from convoai_llm.settings import RagSettings

if TYPE_CHECKING:  # the `rag` extra may be missing: imported when the knowledge base opens
    from convoai_llm.rag.passage import Passage
    from convoai_llm.rag.retrieve import Retriever

log = logging.getLogger("convoai_llm.rag")
REOPEN_INTERVAL_S = 30.0


class KnowledgeBase:
    def __init__(self, opener: Callable[[], Retriever], refresh_interval_s: float, max_stale_s: float = 30.0) -> None:
        self.opener = opener
        self.refresh_interval_s = refresh_interval_s
        self.max_stale_s = max_stale_s
        self.retriever: Retriever | None = None
        self.failure: str | None = None
        """The exception type of the last failure (logged once), None while the store answers."""
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._open()
        self._watch = asyncio.create_task(self._watch_loop(), name="kb-watch")

    async def ready(self) -> bool:
        return self.retriever is not None and self.failure is None and bool(await self.retriever.ping())

    async def search(self, query: str, k: int | None = None) -> Sequence[Passage]:
        if self.retriever is None:
            raise KnowledgeBaseUnavailable("The knowledge base could not be opened.")
        return await self.retriever.search(query, k)

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        if self.retriever is not None:
            await asyncio.to_thread(self.retriever.close)

    async def _open(self) -> None:
        try:
            self.retriever = await asyncio.to_thread(self.opener)
        except Exception as exc:  # corrupt file, database down: degraded, never fatal
            self._set_state(type(exc).__name__)
        else:
            self._set_state(None)

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval_s if self.retriever is not None else REOPEN_INTERVAL_S)
            if self.retriever is None:
                await self._open()
                continue
            try:
                await self.retriever.refresh_when_settled(self.max_stale_s)
            except Exception as exc:  # the old index keeps serving
                self._set_state(type(exc).__name__)
            else:
                self._set_state(None)

    def _set_state(self, failure: str | None) -> None:
        if failure == self.failure:
            return
        if failure is not None:
            log.error("knowledge base failed (%s): RAG answers without passages; /readyz reports rag=false", failure)
        else:
            log.warning("knowledge base answers again")
        self.failure = failure


def open_knowledge_base(settings: RagSettings) -> KnowledgeBase | None:
    """The knowledge base at `kb_url` or `kb_path`, opened by `start` (it loads the embedding model), or
    None without the `rag` extra."""
    try:
        from convoai_llm.rag.retrieve import Retriever
    except ImportError as exc:
        log.warning("RAG disabled: %s", exc)
        return None

    def opener() -> Retriever:
        if not settings.kb_url:
            settings.kb_path.parent.mkdir(parents=True, exist_ok=True)
        return Retriever(
            settings.location, top_k=settings.top_k, min_score=settings.min_score,
            per_document=settings.per_document, embed_model=settings.embed_model,
        )  # fmt: skip

    return KnowledgeBase(opener, settings.refresh_interval_s, settings.refresh_max_stale_s)


def list_documents(settings: RagSettings) -> list[dict[str, Any]]:
    """The documents in the knowledge base, for the playground (blocking; empty when there is no KB yet)."""
    from convoai_llm.rag.backend import is_pg_url, open_store

    if not is_pg_url(settings.location) and not Path(settings.location).exists():
        return []
    with open_store(settings.location) as store:
        return [
            {"object": "kb.document", "source": public_source(d.source), "title": d.title, "chunks": d.chunks,
             "added_at": round(d.added_at, 3), "content_hash": d.content_hash}
            for d in store.documents()
        ]  # fmt: skip
