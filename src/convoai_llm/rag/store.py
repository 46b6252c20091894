"""Store: the knowledge base in one SQLite file (documents, chunks with their BM25 terms and embeddings).

Durability: WAL journal, one ``BEGIN IMMEDIATE`` transaction per document, so a process killed mid-ingest
leaves every document either as it was before or fully replaced. ``version`` is a counter bumped inside
every write transaction; a server compares it to the version its indexes were built from.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

from convoai_llm.rag.embed import Vectors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    terms TEXT NOT NULL,
    embedding BLOB NOT NULL,
    UNIQUE (document_id, position)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '0');
"""


class StoreError(RuntimeError):
    """The knowledge base file cannot be used (wrong embedding model, bad vectors...)."""


class ModelMismatchError(StoreError):
    """The knowledge base holds another embedding model's vectors: re-embed it before adding to it."""

    def __init__(self, stored: str, wanted: str, chunks: int) -> None:
        super().__init__(
            f"this knowledge base holds {chunks} chunks embedded with {stored}, but the configured model is "
            f"{wanted}; vectors of two models are never mixed. Run `convoai-llm kb reembed` to re-embed them "
            f"with {wanted}, or set CONVOAI_RAG_EMBED_MODEL to the model the knowledge base was built with."
        )
        self.stored = stored
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class NewChunk:
    """A chunk to write: its text, BM25 terms and embedding (float32, the store's dimension)."""

    text: str
    terms: Sequence[str]
    embedding: Vectors


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    source: str
    title: str
    content_hash: str
    added_at: float
    chunks: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every chunk at one version, in chunk-id order, ready for indexing."""

    version: int
    chunk_ids: list[int]
    texts: list[str]
    terms: list[list[str]]
    sources: list[str]
    titles: list[str]
    embeddings: Vectors
    positions: list[int] = field(default_factory=list)
    """Each chunk's position in its document (0, 1, …): adjacent chunks of one source can be merged."""
    embed_model: str | None = None
    """The model the vectors come from (None: no vector written yet)."""


class OneModelStore:
    """The rule both backends keep (SQLite here, PostgreSQL in ``pg_store``): a store holds the vectors of
    one embedding model. The first writer records its model, a writer with another model is refused, and a
    re-embedding replaces every vector and the model in one transaction. Backends supply the SQL."""

    model_id: str

    def embed_model(self) -> str | None:
        raise NotImplementedError

    def chunk_count(self) -> int:
        raise NotImplementedError

    def _set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError

    def _check_model(self) -> None:
        """In a write transaction: the first writer records its embedding model; another may not mix in."""
        if not self.model_id:
            return
        stored = self.embed_model()
        if stored == self.model_id:
            return
        chunks = self.chunk_count()
        if stored is not None and chunks:
            raise ModelMismatchError(stored, self.model_id, chunks)
        self._set_meta("embed_model", self.model_id)

    def _check_every_chunk(self, vectors: int) -> None:
        """In a re-embedding's transaction: the new vectors cover every chunk (none added meanwhile)."""
        if self.chunk_count() != vectors:
            raise StoreError("the knowledge base changed during re-embedding; run it again")


class KnowledgeStore(OneModelStore):
    """One SQLite knowledge-base file. Not shared across threads: open one per thread."""

    def __init__(self, path: Path | str, *, model_id: str = "", dimension: int = 0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        if not self._has_schema():
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
        self.model_id = model_id
        # 0: not fixed by the caller; the stored vectors' length, or the first vector written, fixes it
        row = self._db.execute("SELECT length(embedding) FROM chunks LIMIT 1").fetchone()
        self.dimension = dimension or (int(row[0]) // 4 if row else 0)

    def _has_schema(self) -> bool:
        names = "('meta', 'documents', 'chunks')"
        query = f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN {names}"  # noqa: S608
        return int(self._db.execute(query).fetchone()[0]) == 3

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _bump_version(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")

    def version(self) -> int:
        """The change counter: different after any add, replace or remove."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return int(row[0])

    def content_hash(self, source: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM documents WHERE source = ?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def put_document(self, source: str, content_hash: str, title: str, chunks: Sequence[NewChunk]) -> None:
        """Adds or replaces one document and all its chunks, atomically."""
        blobs = [self._blob(chunk.embedding) for chunk in chunks]
        with self._transaction():
            self._check_model()
            self._db.execute("DELETE FROM documents WHERE source = ?", (source,))
            cursor = self._db.execute(
                "INSERT INTO documents (source, content_hash, title, added_at) VALUES (?, ?, ?, ?)",
                (source, content_hash, title, time.time()),
            )
            document_id = cursor.lastrowid
            self._db.executemany(
                "INSERT INTO chunks (document_id, position, text, terms, embedding) VALUES (?, ?, ?, ?, ?)",
                [
                    (document_id, position, chunk.text, "\x1f".join(chunk.terms), blob)
                    for position, (chunk, blob) in enumerate(zip(chunks, blobs, strict=True))
                ],
            )
            self._bump_version()

    def remove(self, source: str) -> bool:
        """Deletes a document and its chunks; False when there was no such source."""
        with self._transaction():
            deleted = self._db.execute("DELETE FROM documents WHERE source = ?", (source,)).rowcount
            if deleted:
                self._bump_version()
        return bool(deleted)

    def documents(self) -> list[DocumentInfo]:
        rows = self._db.execute(
            "SELECT d.source, d.title, d.content_hash, d.added_at, COUNT(c.id) FROM documents d "
            "LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.id ORDER BY d.source"
        ).fetchall()
        return [DocumentInfo(str(r[0]), str(r[1]), str(r[2]), float(r[3]), int(r[4])) for r in rows]

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def snapshot(self) -> Snapshot:
        """All chunks and the version they belong to, read in one transaction."""
        self._db.execute("BEGIN")
        try:
            version = self.version()
            rows = self._db.execute(
                "SELECT c.id, c.text, c.terms, d.source, d.title, c.embedding, c.position FROM chunks c "
                "JOIN documents d ON d.id = c.document_id ORDER BY c.id"
            ).fetchall()
            model = self.embed_model()
        finally:
            self._db.execute("COMMIT")
        dimension = len(rows[0][5]) // 4 if rows else self.dimension
        embeddings = np.empty((len(rows), dimension), dtype=np.float32)
        for i, row in enumerate(rows):
            embeddings[i] = np.frombuffer(row[5], dtype=np.float32)
        return Snapshot(
            version=version,
            chunk_ids=[int(r[0]) for r in rows],
            texts=[str(r[1]) for r in rows],
            terms=[str(r[2]).split("\x1f") if r[2] else [] for r in rows],
            sources=[str(r[3]) for r in rows],
            titles=[str(r[4]) for r in rows],
            embeddings=embeddings,
            positions=[int(r[6]) for r in rows],
            embed_model=model,
        )

    def embed_model(self) -> str | None:
        """The embedding model whose vectors the store holds (None before the first write)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'embed_model'").fetchone()
        return None if row is None else str(row[0])

    def chunk_texts(self) -> list[tuple[int, str]]:
        """(chunk id, text) of every chunk, for re-embedding."""
        rows = self._db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def replace_embeddings(self, model_id: str, vectors: Sequence[tuple[int, Vectors]]) -> None:
        """Every chunk's vector replaced and the model recorded, in one transaction: readers see either
        the old model's vectors or the new one's, never a mix. ``vectors`` must cover every chunk."""
        blobs = [(self._blob(vector), chunk_id) for chunk_id, vector in vectors]
        with self._transaction():
            self._check_every_chunk(len(blobs))
            self._db.executemany("UPDATE chunks SET embedding = ? WHERE id = ?", blobs)
            self._set_meta("embed_model", model_id)
            self._bump_version()

    def _blob(self, vector: Vectors) -> bytes:
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        self.dimension = self.dimension or array.shape[0]
        if array.shape[0] != self.dimension:
            raise StoreError(f"embedding has {array.shape[0]} dimensions, the store uses {self.dimension}")
        return array.tobytes()

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
