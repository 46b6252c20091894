from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from convoai_llm.rag.embed import TextEmbedder
from convoai_llm.rag.ingest import Ingestor, Outcome
from convoai_llm.rag.store import KnowledgeStore, NewChunk, StoreError
from convoai_llm.rag.tokenize import Tokenizer


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def test_put_replace_remove_and_version(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "kb.sqlite3") as store:
        assert store.version() == 0
        store.put_document(
            "a.md", "h1", "A", [NewChunk("one", ["one"], vector(1)), NewChunk("two", ["two"], vector(2))]
        )
        assert store.version() == 1
        store.put_document("a.md", "h2", "A2", [NewChunk("three", ["three"], vector(3))])
        assert store.version() == 2
        [doc] = store.documents()
        assert (doc.source, doc.title, doc.content_hash, doc.chunks) == ("a.md", "A2", "h2", 1)
        snap = store.snapshot()
        assert snap.texts == ["three"] and snap.terms == [["three"]] and snap.version == 2
        assert np.allclose(snap.embeddings[0], vector(3))
        assert store.remove("a.md") and not store.remove("a.md")
        assert store.version() == 3 and store.chunk_count() == 0
    db = sqlite3.connect(tmp_path / "kb.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "kb.sqlite3") as store:
        store.put_document("a.md", "h1", "A", [NewChunk("one", ["one"], vector(1))])
        with pytest.raises(StoreError, match="dimensions"):
            store.put_document("a.md", "h2", "A", [NewChunk("bad", [], np.zeros(3, dtype=np.float32))])
        assert store.content_hash("a.md") == "h1" and store.snapshot().texts == ["one"]


def test_other_embedding_model_is_refused(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "kb.sqlite3", model_id="model-a") as store:
        store.put_document("a.md", "h", "A", [NewChunk("one", [], vector(1))])
    with KnowledgeStore(tmp_path / "kb.sqlite3", model_id="model-b") as store:
        with pytest.raises(StoreError, match="model-a"):
            store.put_document("b.md", "h", "B", [NewChunk("two", [], vector(2))])
        assert [d.source for d in store.documents()] == ["a.md"]


def test_ingest_unchanged_is_noop_and_changed_is_replaced(
    tmp_path: Path, embedder: TextEmbedder, tokenizer: Tokenizer
) -> None:
    doc = tmp_path / "faq.md"
    doc.write_text("# FAQ\n\nThe lamp is blue.\n\n## Price\n\nIt costs 9 dollars.\n", encoding="utf-8")
    with KnowledgeStore(tmp_path / "kb.sqlite3", model_id=embedder.model_id) as store:
        ingestor = Ingestor(store, embedder, tokenizer)
        first = ingestor.add(doc)
        assert first.outcome is Outcome.ADDED and first.chunks == 2
        version = store.version()
        assert ingestor.add(doc).outcome is Outcome.UNCHANGED
        assert store.version() == version
        doc.write_text("# FAQ\n\nThe lamp is red now.\n", encoding="utf-8")
        assert ingestor.add(doc).outcome is Outcome.UPDATED
        assert store.snapshot().texts == ["FAQ\nThe lamp is red now."]
        assert store.version() == version + 1
        bad = tmp_path / "binary.txt"
        bad.write_bytes(b"\xff\xfe\x00garbage")
        skipped = ingestor.add(bad)
        assert skipped.outcome is Outcome.SKIPPED and "UTF-8" in skipped.reason
