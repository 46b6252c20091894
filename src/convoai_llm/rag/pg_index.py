"""Search over a PostgreSQL knowledge base: BM25 in process (rebuilt from the database), dense in pgvector.

Why this split (measured by ``bench/pg_bench.py``, figures in the README's "Scaling out"): BM25 over the
snapshot's jieba terms keeps the exact ranking and score floors of the SQLite backend and answers in well
under a millisecond, while PostgreSQL full-text search (``ts_rank`` over a GIN index) is slower on common
terms at 100 000 chunks and its scores need other floors. Dense search needs the vectors, which at 100 000
chunks are 150 MB per replica: the HNSW index in the database answers without holding them in each process.
"""

from __future__ import annotations

import numpy as np
from psycopg_pool import ConnectionPool

from convoai_llm.rag.embed import Vectors
from convoai_llm.rag.fusion import Ranking
from convoai_llm.rag.index import Index, Thresholds
from convoai_llm.rag.pg_store import vector_literal
from convoai_llm.rag.store import Snapshot

EF_SEARCH = 64  # HNSW candidate list (pgvector's default is 40); must be >= the candidates asked for


class PgDense:
    """Nearest chunks by cosine similarity through the HNSW index, on a small pool of connections."""

    def __init__(self, url: str, *, max_size: int = 4, timeout_s: float = 10.0) -> None:
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            timeout=timeout_s,
            kwargs={"autocommit": True, "options": f"-c hnsw.ef_search={EF_SEARCH}"},
            open=True,
        )

    def nearest(self, vector: Vectors, limit: int, floor: float) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) best first, at most ``limit``, similarity >= ``floor``."""
        query = vector_literal(vector)
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, 1 - (embedding <=> %s::vector) AS score FROM kb_chunks "
                "ORDER BY embedding <=> %s::vector LIMIT %s",
                (query, query, limit),
            ).fetchall()
        return [(int(row[0]), float(row[1])) for row in rows if float(row[1]) >= floor]

    def close(self) -> None:
        self._pool.close()


class PgIndex(Index):
    """An ``Index`` whose dense ranking comes from pgvector. Chunks newer than the snapshot are skipped
    until the next refresh, so both rankings always describe the same set of chunks."""

    def __init__(self, snapshot: Snapshot, dense: PgDense, *, dense_ready: bool = True) -> None:
        super().__init__(snapshot, dense_ready=dense_ready)
        self._dense = dense
        self._rows = {chunk_id: row for row, chunk_id in enumerate(snapshot.chunk_ids)}

    def dense(self, vector: Vectors, thresholds: Thresholds) -> Ranking:
        if not len(self):
            return Ranking([], [])
        hits = self._dense.nearest(np.asarray(vector, dtype=np.float32), thresholds.candidates, thresholds.min_score)
        kept = [(self._rows[chunk_id], score) for chunk_id, score in hits if chunk_id in self._rows]
        return Ranking([row for row, _ in kept], [score for _, score in kept])
