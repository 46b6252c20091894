"""The async retriever: searches run off the event loop; refreshes swap in a new index without blocking."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path

import pytest

from convoai_llm.rag.embed import TextEmbedder, Vectors
from convoai_llm.rag.ingest import Ingestor
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import KnowledgeStore
from convoai_llm.rag.tokenize import Tokenizer


async def test_search_runs_in_a_worker_thread(retriever: Retriever) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = retriever.search_sync

    def spy(query: str, k: int | None = None) -> list:  # type: ignore[type-arg]
        seen.append(threading.get_ident())
        return original(query, k)

    retriever.search_sync = spy  # type: ignore[method-assign]
    try:
        passages = await retriever.search("How much does the Day Pass cost?")
    finally:
        del retriever.search_sync
    assert seen and seen[0] != loop_thread
    assert "15 dollars" in passages[0].text
    assert passages[0].title == "Zephyr Bikes pricing" and passages[0].chunk_id > 0


@pytest.fixture
def db(tmp_path: Path, sample_db: Path) -> Path:
    """A copy of the sample knowledge base that a test may change."""
    copy = tmp_path / "kb.sqlite3"
    shutil.copy(sample_db, copy)
    return copy


async def test_refresh_swaps_index_while_searches_continue(
    tmp_path: Path, db: Path, embedder: TextEmbedder, tokenizer: Tokenizer
) -> None:
    retriever = Retriever(db, embedder=embedder, tokenizer=tokenizer)
    assert not await retriever.refresh_if_changed()
    question = "What is the name of the heron mascot?"
    assert await retriever.search(question) == []

    new_doc = tmp_path / "mascot.md"
    new_doc.write_text("# Mascot\n\nThe Zephyr mascot is a purple heron called Breeze.\n", encoding="utf-8")
    with KnowledgeStore(db, model_id=embedder.model_id) as store:
        Ingestor(store, embedder, tokenizer).add(new_doc)
        new_version = store.version()

    # Make the rebuild slow: searches must still be answered (from the old index) meanwhile.
    original_build = retriever._build

    def slow_build():  # type: ignore[no-untyped-def]
        time.sleep(0.5)
        return original_build()

    retriever._build = slow_build  # type: ignore[method-assign]
    refresh = asyncio.create_task(retriever.refresh_if_changed())
    second = asyncio.create_task(retriever.refresh_if_changed())  # shares the rebuild in flight
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    during = await retriever.search(question)
    assert time.perf_counter() - started < 0.4, "search waited for the rebuild"
    assert during == [] and not refresh.done()
    assert await refresh and await second
    assert retriever.version == new_version
    after = await retriever.search(question)
    assert after and "purple heron" in after[0].text


async def test_watch_picks_up_a_removed_document(db: Path, embedder: TextEmbedder, tokenizer: Tokenizer) -> None:
    retriever = Retriever(db, embedder=embedder, tokenizer=tokenizer)
    assert await retriever.search("How much does the Day Pass cost?")
    watcher = asyncio.create_task(retriever.watch(interval_s=0.05))
    try:
        with KnowledgeStore(db) as store:
            pricing = next(d.source for d in store.documents() if d.source.endswith("en/pricing.md"))
            assert store.remove(pricing)
            version = store.version()
        for _ in range(100):
            if retriever.version == version:
                break
            await asyncio.sleep(0.05)
        assert retriever.version == version
        passages = await retriever.search("How much does the Day Pass cost?")
        assert all(p.source != pricing for p in passages)
    finally:
        watcher.cancel()


class CountingEmbedder:
    """The real embedder, counting the queries it embeds (a seam for the query cache)."""

    def __init__(self, inner: TextEmbedder) -> None:
        self.inner = inner
        self.name, self.model_id, self.dimension = inner.name, inner.model_id, inner.dimension
        self.queries: list[str] = []

    def embed(self, texts: list[str], *, batch_size: int = 32) -> Vectors:
        return self.inner.embed(texts, batch_size=batch_size)

    def embed_one(self, text: str) -> Vectors:
        self.queries.append(text)
        return self.inner.embed_one(text)


def test_a_repeated_query_is_embedded_once(sample_db: Path, embedder: TextEmbedder, tokenizer: Tokenizer) -> None:
    counting = CountingEmbedder(embedder)
    retriever = Retriever(sample_db, embedder=counting, tokenizer=tokenizer)
    first = retriever.search_sync("How much does the Day Pass cost?")
    again = retriever.search_sync("How much does the Day Pass cost?")
    other = retriever.search_sync("周日几点开门")
    assert counting.queries == ["How much does the Day Pass cost?", "周日几点开门"]
    assert first == again and "15 dollars" in first[0].text
    assert other and other != first

    uncached = CountingEmbedder(embedder)
    no_cache = Retriever(sample_db, embedder=uncached, tokenizer=tokenizer, query_cache=0)
    assert no_cache.search_sync("How much does the Day Pass cost?") == no_cache.search_sync(
        "How much does the Day Pass cost?"
    )
    assert len(uncached.queries) == 2


async def test_watch_refresh_is_debounced_while_the_store_keeps_changing(
    tmp_path: Path, db: Path, embedder: TextEmbedder, tokenizer: Tokenizer
) -> None:
    retriever = Retriever(db, embedder=embedder, tokenizer=tokenizer)
    builds: list[int] = []
    original_build = retriever._build

    def counted_build():  # type: ignore[no-untyped-def]
        index = original_build()
        builds.append(index.version)
        return index

    retriever._build = counted_build  # type: ignore[method-assign]
    with KnowledgeStore(db, model_id=embedder.model_id) as store:
        ingestor = Ingestor(store, embedder, tokenizer)
        for n in range(3):  # a long `kb add`: a new version at every poll, no rebuild while the index is fresh
            doc = tmp_path / f"note{n}.md"
            doc.write_text(f"# Note {n}\n\nThe shop's note number {n} is about saddles.\n", encoding="utf-8")
            ingestor.add(doc)
            assert not await retriever.refresh_when_settled(max_stale_s=3600)
        assert builds == []
        final = store.version()
    assert await retriever.refresh_when_settled(max_stale_s=3600)  # unchanged since the last poll: settled
    assert builds == [final] and retriever.version == final
    assert not await retriever.refresh_when_settled(max_stale_s=3600)

    with KnowledgeStore(db) as store:  # a change while writes go on, once the index is max_stale_s old
        store.remove(next(d.source for d in store.documents() if d.source.endswith("note0.md")))
        removed = store.version()
    time.sleep(0.2)
    assert await retriever.refresh_when_settled(max_stale_s=0.1)
    assert builds == [final, removed]
