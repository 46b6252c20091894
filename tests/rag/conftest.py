"""Shared, session-scoped models and a sample knowledge base (loading MiniLM and jieba once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.rag.embed import Embedder
from convoai_llm.rag.ingest import Ingestor, collect_files
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import KnowledgeStore
from convoai_llm.rag.tokenize import Tokenizer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "knowledge"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(threads=2)


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def build_kb(db: Path, folders: list[Path], embedder: Embedder, tokenizer: Tokenizer) -> None:
    with KnowledgeStore(db, model_id=embedder.model_id) as store:
        ingestor = Ingestor(store, embedder, tokenizer)
        for path in collect_files(folders)[0]:
            ingestor.add(path)


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, tokenizer: Tokenizer) -> Path:
    db = tmp_path_factory.mktemp("kb") / "kb.sqlite3"
    build_kb(db, [EXAMPLES], embedder, tokenizer)
    return db


@pytest.fixture(scope="session")
def retriever(sample_db: Path, embedder: Embedder, tokenizer: Tokenizer) -> Retriever:
    return Retriever(sample_db, embedder=embedder, tokenizer=tokenizer)
