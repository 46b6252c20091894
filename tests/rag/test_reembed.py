"""A model change re-embeds the knowledge base (versioned), with a clear message; vectors never mix."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convoai_llm.rag.cli import kb_app
from convoai_llm.rag.embed import TextEmbedder, load_embedder
from convoai_llm.rag.ingest import Ingestor, collect_files
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import KnowledgeStore, ModelMismatchError
from convoai_llm.rag.tokenize import Tokenizer
from tests.rag.conftest import EXAMPLES


@pytest.fixture(scope="module")
def minilm() -> TextEmbedder:
    return load_embedder("minilm", threads=2)


def test_model_change_refuses_to_mix_then_reembeds(
    tmp_path: Path, minilm: TextEmbedder, embedder: TextEmbedder, tokenizer: Tokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "kb.sqlite3"
    with KnowledgeStore(db, model_id=minilm.model_id) as store:
        Ingestor(store, minilm, tokenizer).add_many(collect_files([EXAMPLES])[0])
        chunks, version = store.chunk_count(), store.version()

    with KnowledgeStore(db, model_id=embedder.model_id) as store, pytest.raises(ModelMismatchError) as refused:
        Ingestor(store, embedder, tokenizer).add_many([EXAMPLES / "en" / "safety.txt"])
    message = str(refused.value)
    assert minilm.model_id in message and embedder.model_id in message and "kb reembed" in message

    with caplog.at_level(logging.WARNING):  # the server keeps answering, by BM25 alone, and says why
        stale = Retriever(db, embedder=embedder, tokenizer=tokenizer)
        assert stale.search_sync("How much does the Day Pass cost?")
    assert "kb reembed" in caplog.text and "BM25 only" in caplog.text and str(tmp_path) not in caplog.text

    result = CliRunner().invoke(kb_app, ["reembed", "--db", str(db), "--model", "use-multilingual"])
    assert result.exit_code == 0, result.output
    assert f"re-embedded {chunks} chunks: {minilm.model_id} -> {embedder.model_id}" in result.output
    with KnowledgeStore(db) as store:
        snap = store.snapshot()
    assert snap.embed_model == embedder.model_id and snap.version == version + 1
    assert snap.embeddings.shape == (chunks, 512)
    again = embedder.embed(snap.texts)
    assert np.all(np.einsum("ij,ij->i", snap.embeddings, again) > 0.99)  # every vector is the new model's
    assert "already embedded" in CliRunner().invoke(kb_app, ["reembed", "--db", str(db)]).output


def test_kb_add_with_another_model_says_how_to_fix(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLES / "en", docs)
    db = tmp_path / "kb.sqlite3"
    runner = CliRunner()
    assert runner.invoke(kb_app, ["add", str(docs / "pricing.md"), "--db", str(db), "--model", "minilm"]).exit_code == 0
    refused = runner.invoke(kb_app, ["add", str(docs / "safety.txt"), "--db", str(db)])
    assert refused.exit_code == 1 and "Run `convoai-llm kb reembed`" in refused.output
