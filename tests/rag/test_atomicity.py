"""A SIGKILL mid-ingest leaves the knowledge base readable and every document in its previous state."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from convoai_llm.rag.chunk import Chunker
from convoai_llm.rag.embed import TextEmbedder
from convoai_llm.rag.reader import Reader
from convoai_llm.rag.store import KnowledgeStore
from convoai_llm.rag.tokenize import Tokenizer
from tests.rag.conftest import build_kb

ROOT = Path(__file__).resolve().parents[2]


def state(db: Path) -> dict[str, tuple[str, list[str]]]:
    """source -> (content hash, chunk texts in order), read by a fresh connection."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = connection.execute(
            "SELECT COUNT(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)"
        ).fetchone()[0]
        assert orphans == 0
        result: dict[str, tuple[str, list[str]]] = {}
        for doc_id, source, digest in connection.execute("SELECT id, source, content_hash FROM documents"):
            rows = connection.execute("SELECT text FROM chunks WHERE document_id = ? ORDER BY position", (doc_id,))
            result[source] = (digest, [row[0] for row in rows])
        return result
    finally:
        connection.close()


def write_docs(folder: Path, count: int, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        sections = "\n\n".join(
            f"## Part {p}\n\nDocument {n} {version} part {p}: the widget model {n * 7 + p} ships with "
            f"{p + 2} spare filters and a manual. " * 2
            for p in range(4)
        )
        (folder / f"doc{n:04d}.md").write_text(f"# Doc {n} {version}\n\n{sections}\n", encoding="utf-8")


def expected_chunks(path: Path) -> list[str]:
    document = Reader().read(path)
    return [chunk.text for chunk in Chunker().chunk(document.text, document.title)]


def test_sigkill_during_kb_add_of_a_big_folder(tmp_path: Path, embedder: TextEmbedder, tokenizer: Tokenizer) -> None:
    db = tmp_path / "kb.sqlite3"
    old, big = tmp_path / "old", tmp_path / "big"
    write_docs(old, 3, "v1")
    build_kb(db, [old], embedder, tokenizer)
    before = state(db)
    write_docs(old, 3, "v2")  # the same files, changed: re-adding replaces them
    write_docs(big, 400, "new")

    env = {**os.environ, "CONVOAI_KB_PATH": str(db)}
    cmd = [sys.executable, "-m", "convoai_llm.rag.cli", "add", str(old), str(big)]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(state(db)) >= 8:  # the 3 replacements and some new documents are committed
                break
            time.sleep(0.05)
        time.sleep(0.13)  # land somewhere inside the next documents, not on a boundary we chose
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    after = state(db)  # opens, integrity ok, no orphan chunk
    assert 8 <= len(after) < 403, "killed mid-way"
    for source, (digest, texts) in after.items():
        path = Path(source)
        assert texts == expected_chunks(path), f"{source} is complete"
        if source in before:
            assert (digest, texts) != before[source], "replaced old documents hold their new version"
    assert set(before) <= set(after)
    with KnowledgeStore(db) as store:
        assert store.version() == 3 + len(after)


INSIDE_TRANSACTION = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from convoai_llm.rag.store import KnowledgeStore, NewChunk

    class Stalling(list):
        # The store walks the chunks twice: for the vectors (before BEGIN) and for the rows (inside it).
        passes = 0
        def __iter__(self):
            Stalling.passes += 1
            for i, item in enumerate(list.__iter__(self)):
                if Stalling.passes == 2 and i == 1:
                    print("IN_TRANSACTION", flush=True)
                    time.sleep(60)
                yield item

    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    with KnowledgeStore(sys.argv[1]) as store:
        store.put_document("doc.md", "new-hash", "New", Stalling(NewChunk(f"new {i}", [], vector) for i in range(5)))
    """
)


def test_sigkill_inside_the_write_transaction_keeps_the_previous_document(tmp_path: Path) -> None:
    import numpy as np

    from convoai_llm.rag.store import NewChunk

    db = tmp_path / "kb.sqlite3"
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    with KnowledgeStore(db) as store:
        store.put_document("doc.md", "old-hash", "Old", [NewChunk(f"old {i}", [], vector) for i in range(3)])
        store.put_document("other.md", "o", "Other", [NewChunk("other", [], vector)])
    before = state(db)

    cmd = [sys.executable, "-c", INSIDE_TRANSACTION, str(db)]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "IN_TRANSACTION"  # old rows deleted, new half written
        finally:
            process.send_signal(signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert state(db) == before
    with KnowledgeStore(db) as store:
        assert store.version() == 2
