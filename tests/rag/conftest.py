"""Shared, session-scoped models and a sample knowledge base (loading the embedder and jieba once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.rag.embed import DEFAULT_MODEL, TextEmbedder, load_embedder
from convoai_llm.rag.ingest import Ingestor, collect_files
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import KnowledgeStore
from convoai_llm.rag.tokenize import Tokenizer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "knowledge"


@pytest.fixture(scope="session")
def embedder() -> TextEmbedder:
    return load_embedder(DEFAULT_MODEL, threads=2)


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def build_kb(db: Path, folders: list[Path], embedder: TextEmbedder, tokenizer: Tokenizer) -> None:
    with KnowledgeStore(db, model_id=embedder.model_id) as store:
        Ingestor(store, embedder, tokenizer).add_many(collect_files(folders)[0])


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder, tokenizer: Tokenizer) -> Path:
    db = tmp_path_factory.mktemp("kb") / "kb.sqlite3"
    build_kb(db, [EXAMPLES], embedder, tokenizer)
    return db


@pytest.fixture(scope="session")
def retriever(sample_db: Path, embedder: TextEmbedder, tokenizer: Tokenizer) -> Retriever:
    return Retriever(sample_db, embedder=embedder, tokenizer=tokenizer)
