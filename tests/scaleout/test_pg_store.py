"""The PostgreSQL knowledge base against a real server: atomic writes, migrations, `kb copy`, and the same
retrieval as the SQLite backend on the labelled questions."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from convoai_llm.rag.embed import DEFAULT_MODEL, TextEmbedder, load_embedder
from convoai_llm.rag.pg_admin import copy_sqlite, migrate_url
from convoai_llm.rag.pg_store import SCHEMA_VERSION, PgStore
from convoai_llm.rag.reembed import reembed_store
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import ModelMismatchError, NewChunk, StoreError
from convoai_llm.rag.tokenize import Tokenizer
from tests.rag.conftest import EXAMPLES, build_kb
from tests.rag.eval_set import QUESTIONS
from tests.scaleout.conftest import Services


@pytest.fixture
def fresh_url(services: Services) -> Iterator[str]:
    name = f"convoai_unit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(services.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield services.admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(services.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return load_embedder(DEFAULT_MODEL, threads=2)


def unit(seed: int) -> np.ndarray:  # type: ignore[type-arg]
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def test_writes_are_atomic_and_versioned(fresh_url: str) -> None:
    with PgStore(fresh_url, model_id="model-a") as store:
        assert store.version() == 0
        store.put_document("doc", "h1", "Doc", [NewChunk("old text", ["old"], unit(1))])
        assert store.version() == 1 and store.content_hash("doc") == "h1"
        bad = [NewChunk("new text", ["new"], unit(2)), NewChunk("broken \x00 text", ["x"], unit(3))]
        with pytest.raises(psycopg.Error):  # PostgreSQL rejects the second row inside the transaction
            store.put_document("doc", "h2", "Doc", bad)
        snap = store.snapshot()
        assert store.version() == 1 and snap.texts == ["old text"] and store.content_hash("doc") == "h1"
        with pytest.raises(StoreError, match="dimensions"):
            store.put_document("doc", "h3", "Doc", [NewChunk("t", ["t"], np.ones(10, dtype=np.float32))])
    with PgStore(fresh_url, model_id="model-b") as other, pytest.raises(StoreError, match="model-a"):
        other.put_document("doc2", "h", "Doc 2", [NewChunk("t", ["t"], unit(4))])
    with PgStore(fresh_url) as store:
        assert store.version() == 1 and [d.source for d in store.documents()] == ["doc"]
        assert store.remove("doc") and not store.remove("doc") and store.version() == 2
        assert store.chunk_count() == 0


def test_migrate_is_idempotent_and_safe_concurrently(fresh_url: str) -> None:
    results: list[tuple[int, int]] = []
    threads = [threading.Thread(target=lambda: results.append(migrate_url(fresh_url))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [(0, SCHEMA_VERSION)] + [(SCHEMA_VERSION, SCHEMA_VERSION)] * 3
    with psycopg.connect(fresh_url) as conn:
        index = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_chunks_embedding_hnsw'").fetchone()
    assert index is not None and "hnsw" in str(index[0]) and "vector_cosine_ops" in str(index[0])


async def test_copy_from_sqlite_then_same_retrieval(fresh_url: str, embedder: TextEmbedder, tmp_path: Path) -> None:
    tokenizer = Tokenizer()
    db = tmp_path / "kb.sqlite3"
    build_kb(db, [EXAMPLES], embedder, tokenizer)
    report = copy_sqlite(db, fresh_url)
    assert report.copied == 9 and report.chunks > 30
    assert copy_sqlite(db, fresh_url).unchanged == 9  # re-running copies nothing
    lite = Retriever(db, embedder=embedder, tokenizer=tokenizer)
    pg = Retriever(fresh_url, embedder=embedder, tokenizer=tokenizer)
    try:
        for question in QUESTIONS:
            expected = lite.search_sync(question.text)
            found = pg.search_sync(question.text)
            assert [(p.text, p.source) for p in found] == [(p.text, p.source) for p in expected], question.text
            # score fusion uses the cosines themselves: pgvector's and numpy's agree to float precision
            assert [p.score for p in found] == pytest.approx([p.score for p in expected], abs=1e-4)
        assert pg.search_sync("What is the capital of Mongolia?") == []
        version = pg.version
        with PgStore(fresh_url, model_id=embedder.model_id) as store:
            text = "Night riders: the Owl Pass costs 9 dollars from 22:00 to 06:00."
            store.put_document(
                "owl.md", "h", "Owl Pass", [NewChunk(text, tokenizer.tokenize(text), embedder.embed_one(text))]
            )
        assert await pg.refresh_if_changed() and pg.version == version + 1
        assert "Owl Pass" in (await pg.search("How much is the Owl Pass at night?"))[0].text
    finally:
        pg.close()


def test_reembed_retypes_the_vector_column_and_rebuilds_the_index(fresh_url: str, embedder: TextEmbedder) -> None:
    tokenizer = Tokenizer()
    minilm = load_embedder("minilm")
    texts = ["The Day Pass costs 15 dollars.", "日卡售价15元。", "Helmets are mandatory."]
    with PgStore(fresh_url, model_id=minilm.model_id, dimension=384) as store:
        chunks = [NewChunk(t, tokenizer.tokenize(t), v) for t, v in zip(texts, minilm.embed(texts), strict=True)]
        store.put_document("a.md", "h", "A", chunks)
        version = store.version()
    with PgStore(fresh_url, model_id=embedder.model_id) as store, pytest.raises(ModelMismatchError):
        store.put_document("b.md", "h", "B", [NewChunk("x", ["x"], embedder.embed_one("x"))])
    report = reembed_store(fresh_url, embedder)
    assert (report.previous, report.chunks) == (minilm.model_id, 3)
    with PgStore(fresh_url) as store:
        assert store.embed_model() == embedder.model_id and store.dimension == 512 and store.version() == version + 1
    with psycopg.connect(fresh_url) as conn:
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
        index = conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'kb_chunks_embedding_hnsw'").fetchone()
    assert column == ("vector(512)",) and index is not None
    pg = Retriever(fresh_url, embedder=embedder, tokenizer=tokenizer)
    try:
        assert pg.search_sync("头盔是必须的吗")[0].text == "Helmets are mandatory."  # dense, cross-lingual
    finally:
        pg.close()
