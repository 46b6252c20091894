"""Index: an immutable in-memory search structure over one store snapshot (BM25 + dense vectors)."""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np
import numpy.typing as npt

from convoai_llm.rag.embed import Vectors
from convoai_llm.rag.fusion import reciprocal_rank_fusion
from convoai_llm.rag.passage import Passage
from convoai_llm.rag.store import Snapshot


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What counts as relevant: a chunk enters a ranking only above its floor.

    ``min_score``: cosine similarity floor for the dense ranking. ``min_bm25``: BM25 score floor for the
    lexical ranking. ``candidates``: how deep each ranking goes into the fusion. Defaults measured on the
    labelled set: off-topic questions score at most 0.24 cosine (English) and 2.0 BM25, answers of
    Chinese questions at least 3.6 BM25.
    """

    min_score: float = 0.3
    min_bm25: float = 2.5
    candidates: int = 30


class Index:
    """BM25 over the stored terms and a float32 matrix of unit vectors, built once, then read-only."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.version = snapshot.version
        self._snapshot = snapshot
        self._vectors = snapshot.embeddings
        self._bm25: bm25s.BM25 | None = None
        if snapshot.chunk_ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(snapshot.terms, show_progress=False)

    def __len__(self) -> int:
        return len(self._snapshot.chunk_ids)

    def lexical(self, terms: list[str], thresholds: Thresholds) -> list[int]:
        """Row numbers ranked by BM25, best first, above the floor."""
        if self._bm25 is None or not terms:
            return []
        scores: npt.NDArray[np.float32] = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        return _top(scores, thresholds.candidates, max(thresholds.min_bm25, 1e-6))

    def dense(self, vector: Vectors, thresholds: Thresholds) -> list[int]:
        """Row numbers ranked by cosine similarity, best first, above the floor."""
        if not len(self):
            return []
        # einsum, not BLAS: a multi-threaded OpenBLAS matvec on 2 busy cores is 4x slower than one core.
        scores: npt.NDArray[np.float32] = np.einsum("ij,j->i", self._vectors, vector)
        return _top(scores, thresholds.candidates, thresholds.min_score)

    def search(
        self, terms: list[str], vector: Vectors, k: int, thresholds: Thresholds, *, dense_alone: bool = True
    ) -> list[Passage]:
        """The ``k`` best passages by reciprocal rank fusion of both rankings.

        ``dense_alone=False`` (for Chinese queries, where MiniLM's similarities are noise: an off-topic
        Chinese question scores 0.67) keeps only dense hits that BM25 also found, so the embedding
        re-ranks but never brings in a passage on its own.
        """
        lexical = self.lexical(terms, thresholds)
        dense = self.dense(vector, thresholds)
        if not dense_alone:
            found = set(lexical)
            dense = [row for row in dense if row in found]
        fused = reciprocal_rank_fusion([lexical, dense])
        snap = self._snapshot
        return [
            Passage(snap.texts[i], snap.sources[i], snap.titles[i], round(score, 6), snap.chunk_ids[i])
            for i, score in fused[:k]
        ]


def _top(scores: npt.NDArray[np.float32], n: int, floor: float) -> list[int]:
    picked = np.argpartition(-scores, n)[:n] if scores.shape[0] > n else np.arange(scores.shape[0])
    picked = picked[scores[picked] >= floor]
    order = picked[np.argsort(-scores[picked], kind="stable")]
    return [int(row) for row in order]
