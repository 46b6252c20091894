"""The knowledge base as a component: the RAG retriever, kept fresh while the server runs.

`start` launches the watch task (a document added with `kb add` while the server runs is searchable
within `CONVOAI_RAG_REFRESH_INTERVAL_S`); `ready` asks the store; `aclose` stops the task and closes
the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoai_llm.core.retrieval import public_source
from convoai_llm.settings import RagSettings

if TYPE_CHECKING:  # the `rag` extra may be missing: imported when the knowledge base opens
    from convoai_llm.rag.retrieve import Retriever

log = logging.getLogger("convoai_llm.rag")


class KnowledgeBase:
    def __init__(self, retriever: Retriever, refresh_interval_s: float) -> None:
        self.retriever = retriever
        self.refresh_interval_s = refresh_interval_s
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._watch = asyncio.create_task(self.retriever.watch(self.refresh_interval_s), name="kb-watch")

    async def ready(self) -> bool:
        return bool(await self.retriever.ping())

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        await asyncio.to_thread(self.retriever.close)


def open_knowledge_base(settings: RagSettings) -> KnowledgeBase | None:
    """The knowledge base at `kb_url` or `kb_path` (blocking: loads the embedding model), or None without
    the `rag` extra."""
    try:
        from convoai_llm.rag.retrieve import Retriever
    except ImportError as exc:
        log.warning("RAG disabled: %s", exc)
        return None
    if not settings.kb_url:
        settings.kb_path.parent.mkdir(parents=True, exist_ok=True)
    retriever = Retriever(
        settings.location, top_k=settings.top_k, min_score=settings.min_score,
        per_document=settings.per_document, embed_model=settings.embed_model,
    )  # fmt: skip
    return KnowledgeBase(retriever, settings.refresh_interval_s)


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
