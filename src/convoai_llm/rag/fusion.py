"""Fusion of the lexical and dense rankings: reciprocal rank, or score-aware weighted sums.

Reciprocal rank fusion (RRF) gives every ranking the same say, whatever its scores: a ranking that is
blind on a query (MiniLM on Chinese text, where most characters are ``[UNK]``) pushes near-random chunks up
as hard as a sharp one. Score fusion keeps what the scores say: each ranking's scores are scaled by its own
best score (BM25) or mapped from its floor to 1 (cosine), then summed with per-language weights, so a chunk
both rankings like wins, and a ranking whose scores are all low adds little. Measured against RRF in the
README (``bench/rag_bench.py --public``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_K = 60


@dataclass(frozen=True, slots=True)
class Ranking:
    """Row numbers best first, with their raw scores (same length)."""

    rows: Sequence[int]
    scores: Sequence[float]


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each ranking counts in score fusion, for one language of query."""

    lexical: float
    dense: float
    document: float = 0.0
    """The document prior's weight (``documents.DocumentPrior``): BM25 over whole documents, added per chunk."""


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = DEFAULT_K) -> list[tuple[int, float]]:
    """Fuses ranked lists of ids (best first): score(id) = sum over lists of 1 / (k + rank), rank from 1.

    Returns ``(id, score)`` pairs, best first; ties keep the order in which ids were first seen, so the
    first list wins ties.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def score_fusion(lexical: Ranking, dense: Ranking, weights: Weights, cosine_floor: float) -> list[tuple[int, float]]:
    """Weighted sum of normalised scores, best first (ties: lexical order first, then dense); rows that
    score 0 (found only by a ranking whose weight is 0) are left out.

    BM25 scores are divided by the query's best BM25 score (BM25 has no fixed scale); cosine similarities
    are mapped linearly from ``cosine_floor`` (0) to 1.0 (1), so their absolute level still counts: a
    dense ranking whose best match is barely above the floor adds little, one with no hit adds nothing.
    """
    fused: dict[int, float] = {}
    if lexical.rows:
        top = max(lexical.scores[0], 1e-9)
        for row, score in zip(lexical.rows, lexical.scores, strict=True):
            fused[row] = weights.lexical * score / top
    span = max(1.0 - cosine_floor, 1e-9)
    for row, score in zip(dense.rows, dense.scores, strict=True):
        fused[row] = fused.get(row, 0.0) + weights.dense * max(0.0, score - cosine_floor) / span
    # a ranking with weight 0 brings nothing in on its own
    return sorted(((row, score) for row, score in fused.items() if score > 0.0), key=lambda pair: -pair[1])
