"""Seed: fills an empty knowledge base with the sample documents (``make run`` calls this).

``python -m convoai_llm.rag.seed [DB [EXAMPLES_DIR]]``; defaults: ``$CONVOAI_KB_PATH`` or
``./data/kb.sqlite3``, and ``./examples/knowledge``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from convoai_llm.rag.cli import default_db_path, ingest_paths
from convoai_llm.rag.ingest import Outcome
from convoai_llm.rag.store import KnowledgeStore

DEFAULT_EXAMPLES = Path("examples/knowledge")


def seed_if_empty(db_path: Path, examples_dir: Path) -> int:
    """Adds every file of ``examples_dir`` when the knowledge base has no document; returns how many."""
    if db_path.exists():
        with KnowledgeStore(db_path) as store:
            if store.documents():
                return 0
    if not examples_dir.is_dir():
        return 0
    results = ingest_paths(db_path, [examples_dir], progress=False)
    return sum(1 for result in results if result.outcome in {Outcome.ADDED, Outcome.UPDATED})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    db = Path(args[0]) if args else default_db_path()
    examples = Path(args[1]) if len(args) > 1 else DEFAULT_EXAMPLES
    added = seed_if_empty(db, examples)
    print(f"knowledge base {db}: " + (f"seeded with {added} sample documents" if added else "already filled"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
