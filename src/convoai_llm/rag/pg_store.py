"""PgStore: the knowledge base in PostgreSQL (documents, chunks, pgvector embeddings), shared by replicas.

Same contract as the SQLite ``KnowledgeStore``: one transaction per document (a killed writer leaves the
previous state), a ``version`` counter bumped inside every write transaction (the row lock on it also
serializes writers from any replica or the CLI), and ``snapshot`` read in one REPEATABLE READ transaction.
Dense search runs in the database (an HNSW index on ``kb_chunks.embedding``): ``snapshot`` carries texts
and BM25 terms, not vectors. The schema is created on first open, or explicitly with ``kb migrate``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType

import numpy as np
import psycopg
from psycopg import sql

from convoai_llm.rag.embed import Vectors
from convoai_llm.rag.store import DocumentInfo, NewChunk, OneModelStore, Snapshot, StoreError

SCHEMA_VERSION = 1
MIGRATE_LOCK = 0x636F6E766F  # pg_advisory_xact_lock key: one migrating process at a time
TERM_SEPARATOR = "\x1f"


def migrations(dimension: int) -> list[sql.Composed | sql.SQL]:
    """Schema steps; step ``i`` upgrades schema version ``i`` to ``i + 1``."""
    return [
        sql.SQL(
            "CREATE EXTENSION IF NOT EXISTS vector;"
            "CREATE TABLE IF NOT EXISTS kb_meta (key text PRIMARY KEY, value text NOT NULL);"
            "CREATE TABLE IF NOT EXISTS kb_documents (id bigserial PRIMARY KEY, source text NOT NULL UNIQUE,"
            " content_hash text NOT NULL, title text NOT NULL, added_at double precision NOT NULL);"
            "CREATE TABLE IF NOT EXISTS kb_chunks (id bigserial PRIMARY KEY,"
            " document_id bigint NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,"
            " position integer NOT NULL, text text NOT NULL, terms text NOT NULL,"
            " embedding vector({dim}) NOT NULL, UNIQUE (document_id, position));"
            "CREATE INDEX IF NOT EXISTS kb_chunks_document ON kb_chunks (document_id);"
            "CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw ON kb_chunks"
            " USING hnsw (embedding vector_cosine_ops);"
            "INSERT INTO kb_meta (key, value) VALUES ('version', '0'), ('dimension', {dim_text})"
            " ON CONFLICT (key) DO NOTHING;"
        ).format(dim=sql.Literal(dimension), dim_text=sql.Literal(str(dimension))),
    ]


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("SELECT to_regclass('kb_meta') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT value FROM kb_meta WHERE key = 'schema'").fetchone()
    return int(str(found[0])) if found else 0


def migrate(conn: psycopg.Connection[tuple[object, ...]], dimension: int = 384) -> tuple[int, int]:
    """Creates or upgrades the schema; returns (version before, version after). Safe to run concurrently."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        before = schema_version(conn)
        for step in migrations(dimension)[before:]:
            conn.execute(step)
        if before < SCHEMA_VERSION:
            conn.execute(
                "INSERT INTO kb_meta (key, value) VALUES ('schema', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (str(SCHEMA_VERSION),),
            )
    return before, max(before, SCHEMA_VERSION)


def vector_literal(vector: Vectors) -> str:
    """pgvector's text form, ``[0.1,0.2,…]``."""
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).reshape(-1).tolist())) + "]"


class PgStore(OneModelStore):
    """One connection to a PostgreSQL knowledge base. Not shared across threads: open one per thread."""

    def __init__(self, url: str, *, model_id: str = "", dimension: int = 384, connect_timeout: int = 10) -> None:
        self.url = url
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to the knowledge base database: {exc}") from exc
        if schema_version(self._db) < SCHEMA_VERSION:
            migrate(self._db, dimension)
        row = self._db.execute("SELECT value FROM kb_meta WHERE key = 'dimension'").fetchone()
        self.dimension = int(str(row[0])) if row else dimension
        self.model_id = model_id

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def version(self) -> int:
        row = self._db.execute("SELECT value FROM kb_meta WHERE key = 'version'").fetchone()
        return int(str(row[0])) if row else 0

    def content_hash(self, source: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM kb_documents WHERE source = %s", (source,)).fetchone()
        return None if row is None else str(row[0])

    def put_document(
        self, source: str, content_hash: str, title: str, chunks: Sequence[NewChunk], *, added_at: float | None = None
    ) -> None:
        """Adds or replaces one document and all its chunks, atomically."""
        with self._db.transaction():
            self._bump_version()  # first: the row lock orders concurrent writers
            self._check_model()
            if chunks and self.chunk_count() == 0:
                self._fit_dimension(len(np.asarray(chunks[0].embedding).reshape(-1)))
            vectors = [self._literal(chunk.embedding) for chunk in chunks]
            self._db.execute("DELETE FROM kb_documents WHERE source = %s", (source,))
            row = self._db.execute(
                "INSERT INTO kb_documents (source, content_hash, title, added_at) VALUES (%s, %s, %s, %s) RETURNING id",
                (source, content_hash, title, time.time() if added_at is None else added_at),
            ).fetchone()
            assert row is not None
            with self._db.cursor().copy(
                "COPY kb_chunks (document_id, position, text, terms, embedding) FROM STDIN"
            ) as copy:
                for position, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
                    copy.write_row((row[0], position, chunk.text, TERM_SEPARATOR.join(chunk.terms), vector))

    def remove(self, source: str) -> bool:
        with self._db.transaction():
            deleted = self._db.execute("DELETE FROM kb_documents WHERE source = %s", (source,)).rowcount
            if deleted:
                self._bump_version()
        return bool(deleted)

    def documents(self) -> list[DocumentInfo]:
        rows = self._db.execute(
            "SELECT d.source, d.title, d.content_hash, d.added_at, COUNT(c.id) FROM kb_documents d "
            "LEFT JOIN kb_chunks c ON c.document_id = d.id GROUP BY d.id ORDER BY d.source"
        ).fetchall()
        return [DocumentInfo(str(r[0]), str(r[1]), str(r[2]), float(str(r[3])), int(str(r[4]))) for r in rows]

    def chunk_count(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()
        return int(str(row[0])) if row else 0

    def snapshot(self) -> Snapshot:
        """Every chunk's text and terms at one version (no vectors: dense search runs in the database)."""
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            version = self.version()
            rows = self._db.execute(
                "SELECT c.id, c.text, c.terms, d.source, d.title, c.position FROM kb_chunks c "
                "JOIN kb_documents d ON d.id = c.document_id ORDER BY c.id"
            ).fetchall()
            model = self.embed_model()
        return Snapshot(
            version=version,
            chunk_ids=[int(str(r[0])) for r in rows],
            texts=[str(r[1]) for r in rows],
            terms=[str(r[2]).split(TERM_SEPARATOR) if r[2] else [] for r in rows],
            sources=[str(r[3]) for r in rows],
            titles=[str(r[4]) for r in rows],
            embeddings=np.empty((len(rows), 0), dtype=np.float32),
            positions=[int(str(r[5])) for r in rows],
            embed_model=model,
        )

    def embed_model(self) -> str | None:
        row = self._db.execute("SELECT value FROM kb_meta WHERE key = 'embed_model'").fetchone()
        return None if row is None else str(row[0])

    def chunk_texts(self) -> list[tuple[int, str]]:
        rows = self._db.execute("SELECT id, text FROM kb_chunks ORDER BY id").fetchall()
        return [(int(str(r[0])), str(r[1])) for r in rows]

    def replace_embeddings(self, model_id: str, vectors: Sequence[tuple[int, Vectors]]) -> None:
        """Every vector replaced in one transaction; the column is re-typed (and the HNSW index rebuilt)
        when the new model has another dimension, so replicas never search a mix of two models."""
        literals = [(chunk_id, vector_literal(vector)) for chunk_id, vector in vectors]
        dimension = len(np.asarray(vectors[0][1]).reshape(-1)) if vectors else self.dimension
        with self._db.transaction():
            self._bump_version()
            self._check_every_chunk(len(literals))
            self._db.execute("DROP INDEX IF EXISTS kb_chunks_embedding_hnsw")
            if dimension != self.dimension:
                self._db.execute(
                    sql.SQL(
                        "ALTER TABLE kb_chunks ALTER COLUMN embedding DROP NOT NULL,"
                        " ALTER COLUMN embedding TYPE vector({dim}) USING NULL"
                    ).format(dim=sql.Literal(dimension))
                )
            with self._db.cursor() as cursor:
                cursor.executemany(
                    "UPDATE kb_chunks SET embedding = %s::vector WHERE id = %s", [(v, i) for i, v in literals]
                )
            self._db.execute("ALTER TABLE kb_chunks ALTER COLUMN embedding SET NOT NULL")
            self._db.execute(
                "CREATE INDEX kb_chunks_embedding_hnsw ON kb_chunks USING hnsw (embedding vector_cosine_ops)"
            )
            self._set_meta("embed_model", model_id)
            self._set_meta("dimension", str(dimension))
        self.dimension = dimension

    def _bump_version(self) -> None:
        self._db.execute("UPDATE kb_meta SET value = (value::bigint + 1)::text WHERE key = 'version'")

    def _literal(self, vector: Vectors) -> str:
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        if array.shape[0] != self.dimension:
            raise StoreError(f"embedding has {array.shape[0]} dimensions, the store uses {self.dimension}")
        return vector_literal(array)

    def _fit_dimension(self, dimension: int) -> None:
        """An empty knowledge base takes the dimension of the model writing to it first (the column is
        re-typed and its HNSW index rebuilt, inside the caller's transaction)."""
        if dimension == self.dimension:
            return
        self._db.execute("DROP INDEX IF EXISTS kb_chunks_embedding_hnsw")
        self._db.execute(
            sql.SQL("ALTER TABLE kb_chunks ALTER COLUMN embedding TYPE vector({dim}) USING NULL").format(
                dim=sql.Literal(dimension)
            )
        )
        self._db.execute("CREATE INDEX kb_chunks_embedding_hnsw ON kb_chunks USING hnsw (embedding vector_cosine_ops)")
        self._db.execute("UPDATE kb_meta SET value = %s WHERE key = 'dimension'", (str(dimension),))
        self.dimension = dimension

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO kb_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )
