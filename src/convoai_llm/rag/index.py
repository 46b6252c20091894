"""Index: an immutable in-memory search structure over one store snapshot (BM25 + dense vectors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import bm25s
import numpy as np
import numpy.typing as npt

from convoai_llm.rag.diversify import pick
from convoai_llm.rag.documents import DocumentPrior
from convoai_llm.rag.embed import Vectors
from convoai_llm.rag.fusion import Ranking, Weights, reciprocal_rank_fusion, score_fusion
from convoai_llm.rag.passage import Passage
from convoai_llm.rag.stem import EnglishStemmer
from convoai_llm.rag.store import Snapshot

Language = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What counts as relevant: a chunk enters a ranking only above its floor.

    ``min_score``: cosine similarity floor for the dense ranking. ``min_bm25``: BM25 score floor for the
    lexical ranking. ``candidates``: how deep each ranking goes into the fusion. Each embedding model has
    its own cosine floor (``MODEL_FLOORS``, measured on the labelled set's off-topic questions).
    """

    min_score: float = 0.3
    min_bm25: float = 2.5
    candidates: int = 30


@dataclass(frozen=True, slots=True)
class Policy:
    """How rankings become passages.

    ``fusion``: ``"score"`` (weighted normalised scores, per language) or ``"rrf"`` (reciprocal rank).
    ``weights``: score-fusion weights by query language. ``per_document``: at most this many chunks of
    one document (neighbours merged into one passage).
    """

    thresholds: Thresholds = Thresholds()
    fusion: Literal["score", "rrf"] = "score"
    weights: dict[Language, Weights] = field(
        default_factory=lambda: {"en": Weights(lexical=1.0, dense=1.0), "zh": Weights(lexical=1.0, dense=0.5)}
    )
    per_document: int = 2


def tuned_policy(model: str, *, min_score: float | None = None, min_bm25: float = 2.5, per_document: int = 2) -> Policy:
    """The policy measured best for an embedding model (``embed.MODEL_NAMES``), see ``MODEL_TUNING``."""
    floor, weights = MODEL_TUNING.get(model, MODEL_TUNING["use-multilingual"])
    thresholds = Thresholds(min_score=floor if min_score is None else min_score, min_bm25=min_bm25)
    return Policy(thresholds, "score", dict(weights), per_document)


# Per model: the cosine floor and the score-fusion weights by query language, measured with
# bench/rag_bench.py and the labelled set (figures in the README). The floor sits above the best cosine any
# off-topic question reaches: 0.24 with MiniLM, 0.13 with the multilingual model. On Chinese queries the
# multilingual dense ranking gets a small weight: CMRC 2018 questions share their words with the passage,
# and BM25 + jieba alone ranks the right passage first 98 % of the time, while dense alone scores 0.85 nDCG;
# a small weight still brings in the passage when BM25 finds nothing (a paraphrase). MiniLM is blind on
# Chinese (most characters are [UNK]), so its dense ranking gets no say there.
MODEL_TUNING: dict[str, tuple[float, dict[Language, Weights]]] = {
    "minilm": (0.3, {"en": Weights(lexical=1.0, dense=1.0), "zh": Weights(lexical=1.0, dense=0.0)}),
    "use-multilingual": (
        0.16,
        {"en": Weights(lexical=1.0, dense=1.0, document=1.0), "zh": Weights(lexical=1.0, dense=0.1, document=1.0)},
    ),
}


class Index:
    """BM25 over the stored terms and a float32 matrix of unit vectors, built once, then read-only.

    ``dense_ready`` is False when the snapshot's vectors come from another embedding model than the
    querying one: the dense half is then skipped (BM25 only) rather than comparing two models' vectors.
    """

    def __init__(self, snapshot: Snapshot, *, dense_ready: bool = True) -> None:
        self.version = snapshot.version
        self.snapshot = snapshot
        self.dense_ready = dense_ready
        self._vectors = snapshot.embeddings
        self._stemmer = EnglishStemmer()  # stems for the BM25 index and the queries, see ``stem``
        self._bm25: bm25s.BM25 | None = None
        self._documents: DocumentPrior | None = None
        if snapshot.chunk_ids:
            stems = self._stemmer.stem_many(snapshot.terms)
            self._bm25 = bm25s.BM25()
            self._bm25.index(stems, show_progress=False)
            self._documents = DocumentPrior(snapshot, stems, Thresholds().candidates)

    def __len__(self) -> int:
        return len(self.snapshot.chunk_ids)

    def lexical(self, terms: list[str], thresholds: Thresholds) -> Ranking:
        """Rows ranked by BM25, best first, above the floor."""
        return self._lexical(self._chunk_scores(self._stemmer.stem(terms)), thresholds)

    def _chunk_scores(self, stems: list[str]) -> npt.NDArray[np.float32]:
        if self._bm25 is None or not stems:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(stems), dtype=np.float32)

    @staticmethod
    def _lexical(scores: npt.NDArray[np.float32], thresholds: Thresholds) -> Ranking:
        if not scores.shape[0]:
            return Ranking([], [])
        return _top(scores, thresholds.candidates, max(thresholds.min_bm25, 1e-6))

    def dense(self, vector: Vectors, thresholds: Thresholds) -> Ranking:
        """Rows ranked by cosine similarity, best first, above the floor."""
        if not len(self) or self._vectors.shape[1] != vector.shape[0]:
            return Ranking([], [])
        # einsum, not BLAS: a multi-threaded OpenBLAS matvec on 2 busy cores is 4x slower than one core.
        scores: npt.NDArray[np.float32] = np.einsum("ij,j->i", self._vectors, vector)
        return _top(scores, thresholds.candidates, thresholds.min_score)

    def search(
        self, terms: list[str], vector: Vectors | None, k: int, policy: Policy, language: Language
    ) -> list[Passage]:
        """The ``k`` best passages: both rankings fused as the policy says, then capped per document."""
        stems = self._stemmer.stem(terms)
        chunk_scores = self._chunk_scores(stems)
        lexical = self._lexical(chunk_scores, policy.thresholds)
        use_dense = vector is not None and self.dense_ready
        dense = self.dense(vector, policy.thresholds) if use_dense and vector is not None else Ranking([], [])
        if policy.fusion == "rrf":
            fused = reciprocal_rank_fusion([lexical.rows, dense.rows])
        else:
            weights = policy.weights[language]
            fused = score_fusion(lexical, dense, weights, policy.thresholds.min_score)
            if self._documents is not None:
                fused = self._documents.boost(fused, stems, weights.document, chunk_scores, policy.thresholds.min_bm25)
        return pick(fused, self.snapshot, k, policy.per_document)


def _top(scores: npt.NDArray[np.float32], n: int, floor: float) -> Ranking:
    picked = np.argpartition(-scores, n)[:n] if scores.shape[0] > n else np.arange(scores.shape[0])
    picked = picked[scores[picked] >= floor]
    order = picked[np.argsort(-scores[picked], kind="stable")]
    return Ranking([int(row) for row in order], [float(scores[row]) for row in order])
