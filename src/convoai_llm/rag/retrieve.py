"""Retriever: hybrid search over a knowledge-base file for an asyncio server.

Indexes load in the constructor. ``search`` runs tokenizing, embedding and scoring in a worker thread
(``asyncio.to_thread``) so the event loop never waits on CPU work. ``refresh_if_changed`` compares the
store's version with the index's and rebuilds in a worker thread; searches keep using the old index until
the new one is swapped in with a single reference assignment. ``refresh_when_settled`` is the watch loop's
debounced form: during a long ``kb add`` the store changes at every document, and a full rebuild at every
poll would take the cores from the searches it serves.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from convoai_llm.rag.backend import is_pg_url, open_store
from convoai_llm.rag.embed import DEFAULT_MODEL, TextEmbedder, Vectors, load_embedder
from convoai_llm.rag.index import Index, Language, Policy, Thresholds, tuned_policy
from convoai_llm.rag.passage import Passage
from convoai_llm.rag.store import ModelMismatchError, Snapshot
from convoai_llm.rag.tokenize import Tokenizer, cjk_share

if TYPE_CHECKING:
    from convoai_llm.rag.pg_index import PgDense

DEFAULT_TOP_K = 3
DEFAULT_PER_DOCUMENT = 2
DEFAULT_MAX_STALE_S = 30.0
DEFAULT_THRESHOLDS = Thresholds()
QUERY_CACHE = 1024  # query vectors kept (512 floats each: 2 MiB): a repeated question skips the model
log = logging.getLogger(__name__)


class Retriever:
    """Hybrid retrieval (BM25 with jieba + dense cosine, score-aware fusion, at most ``per_document``
    chunks per document) over one store: an SQLite file path, or a ``postgresql://`` URL (dense search
    then runs in pgvector, see ``pg_index``).

    ``top_k``: passages returned by default. ``min_score``: cosine floor for dense hits (default: the
    model's, ``index.MODEL_TUNING``); ``min_bm25``: score floor for lexical hits (a chunk below both floors is
    never returned, so an off-topic question gets no passages). ``embed_model`` names the embedding model
    (``embed.MODEL_NAMES``) unless an ``embedder`` is given; ``embedder`` and ``tokenizer`` may be shared
    with an ingestor. ``query_cache``: query vectors kept for repeated questions (0: none). A store holding
    another model's vectors is searched by BM25 alone, with one warning per store version naming the fix
    (``kb reembed``).
    """

    def __init__(
        self,
        store_path: Path | str,
        *,
        top_k: int = DEFAULT_TOP_K,
        min_score: float | None = None,
        min_bm25: float = DEFAULT_THRESHOLDS.min_bm25,
        per_document: int = DEFAULT_PER_DOCUMENT,
        embed_model: str = DEFAULT_MODEL,
        embedder: TextEmbedder | None = None,
        tokenizer: Tokenizer | None = None,
        policy: Policy | None = None,
        query_cache: int = QUERY_CACHE,
    ) -> None:
        self.location: Path | str = store_path if is_pg_url(store_path) else Path(store_path)
        self.store_path = Path(store_path)  # the SQLite file (kept for callers of the file-only API)
        self.top_k = top_k
        self._embedder = embedder or load_embedder(embed_model)
        self._query_vector = functools.lru_cache(maxsize=query_cache)(self._embed_query)
        self.policy = policy or tuned_policy(
            self._embedder.name, min_score=min_score, min_bm25=min_bm25, per_document=per_document
        )
        self.thresholds = self.policy.thresholds
        self._tokenizer = tokenizer or Tokenizer()
        self._pg_dense: PgDense | None = None
        if isinstance(self.location, str):
            from convoai_llm.rag.pg_index import PgDense

            self._pg_dense = PgDense(self.location)
        self._index = self._build()
        self._rebuild: asyncio.Task[bool] | None = None
        self._built_at = time.monotonic()
        self._last_seen = self._index.version

    @property
    def version(self) -> int:
        """The store version the current index was built from."""
        return self._index.version

    @property
    def chunk_count(self) -> int:
        return len(self._index)

    def search_sync(self, query: str, k: int | None = None) -> list[Passage]:
        """Blocking search (for the CLI, benchmarks and worker threads)."""
        index = self._index  # one read: a concurrent swap never mixes two indexes in one search
        limit = self.top_k if k is None else k
        if limit <= 0 or not query.strip() or not len(index):
            return []
        terms = self._tokenizer.tokenize(query)
        vector = self._query_vector(query) if index.dense_ready else None
        language: Language = "zh" if cjk_share(query) >= 0.5 else "en"
        return index.search(terms, vector, limit, self.policy, language)

    def _embed_query(self, query: str) -> Vectors:
        vector = self._embedder.embed_one(query)
        vector.flags.writeable = False  # shared by every search of the same text
        return vector

    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The best passages for ``query`` (at most ``k``, default ``top_k``), computed off the event loop."""
        return await asyncio.to_thread(self.search_sync, query, k)

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Readiness: the knowledge base answers (the SQLite file opens, PostgreSQL responds)."""
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.to_thread(self._store_version)
        except Exception:
            return False
        return True

    async def refresh_if_changed(self) -> bool:
        """Rebuilds the index when the store changed; True when a new index was swapped in.

        Concurrent callers share one rebuild. Searches are served from the old index meanwhile.
        """
        if self._rebuild is None or self._rebuild.done():
            self._rebuild = asyncio.create_task(self._refresh())
        return await asyncio.shield(self._rebuild)

    async def refresh_when_settled(self, max_stale_s: float = DEFAULT_MAX_STALE_S) -> bool:
        """One poll of a watch loop, debounced; True when a new index was swapped in.

        A change is indexed at once when the index is at least ``max_stale_s`` old (a document added to a
        quiet store shows up at the next poll); otherwise when the store stopped changing since the previous
        poll (the writer finished) or when ``max_stale_s`` have passed since the last rebuild. So a
        ``kb add`` of many files costs one rebuild per ``max_stale_s``, and one more when it ends.
        """
        version = await asyncio.to_thread(self._store_version)
        settled, self._last_seen = version == self._last_seen, version
        if version == self._index.version:
            return False
        if not settled and time.monotonic() - self._built_at < max_stale_s:
            return False
        return await self.refresh_if_changed()

    async def watch(self, interval_s: float = 2.0, max_stale_s: float = DEFAULT_MAX_STALE_S) -> None:
        """Polls the store every ``interval_s`` and refreshes (debounced, see ``refresh_when_settled``); run it
        as a background task, cancel to stop."""
        while True:
            try:
                await self.refresh_when_settled(max_stale_s)
            except Exception:  # a locked or damaged file must not end the watch; the old index keeps serving
                log.exception("knowledge base refresh failed")  # no path or host in the log
            await asyncio.sleep(interval_s)

    async def _refresh(self) -> bool:
        if await asyncio.to_thread(self._store_version) == self._index.version:
            return False
        self._index = await asyncio.to_thread(self._build)
        self._built_at = time.monotonic()
        return True

    def _store_version(self) -> int:
        with open_store(self.location) as store:
            return store.version()

    def _build(self) -> Index:
        with open_store(self.location) as store:
            snapshot = store.snapshot()
        ready = self._dense_ready(snapshot)
        if self._pg_dense is None:
            return Index(snapshot, dense_ready=ready)
        from convoai_llm.rag.pg_index import PgIndex

        return PgIndex(snapshot, self._pg_dense, dense_ready=ready)

    def _dense_ready(self, snapshot: Snapshot) -> bool:
        stored = snapshot.embed_model
        if stored is None or stored == self._embedder.model_id or not snapshot.chunk_ids:
            return True
        problem = ModelMismatchError(stored, self._embedder.model_id, len(snapshot.chunk_ids))
        log.warning("knowledge base: %s Until then, retrieval uses BM25 only.", problem)
        return False

    def close(self) -> None:
        """Releases the database connections of a PostgreSQL-backed retriever (nothing to do for SQLite)."""
        if self._pg_dense is not None:
            self._pg_dense.close()
