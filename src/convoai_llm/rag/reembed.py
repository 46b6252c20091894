"""Re-embedding: every chunk of a knowledge base embedded again with another model, in one transaction.

Vectors of two models are never mixed: ``kb add`` refuses a store that holds another model's vectors (and
the server searches such a store by BM25 alone) until this has run. Readers keep the old vectors until the
single write transaction commits, then see the new model's vectors and a new store version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from convoai_llm.rag.backend import open_store
from convoai_llm.rag.embed import TextEmbedder


@dataclass(frozen=True, slots=True)
class ReembedReport:
    previous: str | None
    chunks: int
    seconds: float


def reembed_store(location: Path | str, embedder: TextEmbedder, *, batch_size: int = 32) -> ReembedReport:
    """Re-embeds every chunk at ``location`` with ``embedder`` unless it already holds that model's vectors."""
    started = time.perf_counter()
    with open_store(location, dimension=embedder.dimension) as store:
        previous = store.embed_model()
        if previous == embedder.model_id:
            return ReembedReport(previous, 0, 0.0)
        rows = store.chunk_texts()
        vectors = embedder.embed([text for _, text in rows], batch_size=batch_size)
        store.replace_embeddings(embedder.model_id, [(chunk_id, vectors[i]) for i, (chunk_id, _) in enumerate(rows)])
    return ReembedReport(previous, len(rows), time.perf_counter() - started)
