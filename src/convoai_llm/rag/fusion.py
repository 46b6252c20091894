"""Reciprocal rank fusion of ranked candidate lists."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_K = 60


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
