"""Which knowledge-base backend a location names: a ``postgresql://`` URL or an SQLite file path.

``open_store`` returns either backend behind the ``Store`` protocol that the ingestor, the retriever and
the ``kb`` commands use; psycopg is imported only when a PostgreSQL URL is given (the ``pg`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from convoai_llm.rag.embed import Vectors
from convoai_llm.rag.store import DocumentInfo, KnowledgeStore, NewChunk, Snapshot

PG_SCHEMES = ("postgresql://", "postgres://")


class Store(Protocol):
    """What a knowledge-base backend offers (see ``KnowledgeStore`` for the semantics)."""

    model_id: str
    dimension: int

    def version(self) -> int: ...
    def content_hash(self, source: str) -> str | None: ...
    def put_document(self, source: str, content_hash: str, title: str, chunks: Sequence[NewChunk]) -> None: ...
    def remove(self, source: str) -> bool: ...
    def documents(self) -> list[DocumentInfo]: ...
    def chunk_count(self) -> int: ...
    def snapshot(self) -> Snapshot: ...
    def embed_model(self) -> str | None: ...
    def chunk_texts(self) -> list[tuple[int, str]]: ...
    def replace_embeddings(self, model_id: str, vectors: Sequence[tuple[int, Vectors]]) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def is_pg_url(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(PG_SCHEMES)


def describe(location: Path | str) -> str:
    """The location for messages and logs, without a password."""
    if not is_pg_url(location):
        return str(location)
    scheme, _, rest = str(location).partition("://")
    userinfo, at, host = rest.rpartition("@")
    return f"{scheme}://{userinfo.split(':')[0]}{at}{host}" if at else str(location)


def open_store(location: Path | str, *, model_id: str = "", dimension: int = 0) -> Store:
    """The store at ``location``: PostgreSQL for a ``postgresql://`` URL, else an SQLite file.

    ``dimension``: the embedding length writes must have (0: the store's own, or the first vector's; a
    new PostgreSQL schema then uses 384)."""
    if is_pg_url(location):
        from convoai_llm.rag.pg_store import PgStore

        return PgStore(str(location), model_id=model_id, dimension=dimension or 384)
    return KnowledgeStore(location, model_id=model_id, dimension=dimension)
