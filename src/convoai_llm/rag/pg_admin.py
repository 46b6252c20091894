"""``kb migrate`` and ``kb copy``: create or upgrade the PostgreSQL schema; move an SQLite KB into it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

from convoai_llm.rag.pg_store import PgStore, migrate
from convoai_llm.rag.store import NewChunk, StoreError


@dataclass(frozen=True, slots=True)
class CopyReport:
    copied: int
    unchanged: int
    chunks: int


def migrate_url(url: str, dimension: int = 384) -> tuple[int, int]:
    """Creates or upgrades the schema at ``url``; (schema version before, after)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return migrate(conn, dimension)


def copy_sqlite(db: Path, url: str, *, progress: Callable[[str], None] | None = None) -> CopyReport:
    """Copies every document of the SQLite KB ``db`` into the PostgreSQL KB at ``url``, one transaction per
    document; documents already there with the same content hash are left alone (safe to re-run)."""
    if not db.is_file():
        raise StoreError(f"no knowledge base at {db}")
    source_db = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        meta = dict(source_db.execute("SELECT key, value FROM meta").fetchall())
        documents = source_db.execute("SELECT id, source, content_hash, title, added_at FROM documents ORDER BY id")
        copied = unchanged = chunks = 0
        row = source_db.execute("SELECT length(embedding) FROM chunks LIMIT 1").fetchone()
        dimension = int(row[0]) // 4 if row else 384
        with PgStore(url, model_id=str(meta.get("embed_model", "")), dimension=dimension) as target:
            for doc_id, source, content_hash, title, added_at in documents.fetchall():
                if target.content_hash(source) == content_hash:
                    unchanged += 1
                    continue
                rows = source_db.execute(
                    "SELECT text, terms, embedding FROM chunks WHERE document_id = ? ORDER BY position", (doc_id,)
                ).fetchall()
                new = [
                    NewChunk(text, terms.split("\x1f") if terms else [], np.frombuffer(blob, dtype=np.float32))
                    for text, terms, blob in rows
                ]
                target.put_document(source, content_hash, title, new, added_at=float(added_at))
                copied += 1
                chunks += len(new)
                if progress is not None:
                    progress(source)
    finally:
        source_db.close()
    return CopyReport(copied, unchanged, chunks)
