from __future__ import annotations

import pytest

from convoai_llm.rag.fusion import Ranking, Weights, reciprocal_rank_fusion, score_fusion


def test_item_in_both_lists_wins() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 4]], k=60)
    assert fused[0][0] == 3
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61)


def test_scores_follow_ranks_and_ties_keep_first_list_order() -> None:
    fused = reciprocal_rank_fusion([[10, 20], [30, 40]], k=1)
    assert [item for item, _ in fused] == [10, 30, 20, 40]
    assert [score for _, score in fused] == pytest.approx([0.5, 0.5, 1 / 3, 1 / 3])


def test_empty_lists() -> None:
    assert reciprocal_rank_fusion([[], []]) == []
    assert [item for item, _ in reciprocal_rank_fusion([[], [7, 8]])] == [7, 8]


def rounded(fused: list[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(row, round(score, 6)) for row, score in fused]


def test_score_fusion_weights_normalised_scores() -> None:
    lexical = Ranking([1, 2], [10.0, 5.0])  # scaled by the best: 1.0, 0.5
    dense = Ranking([2, 3], [0.6, 0.4])  # floor 0.2 -> (0.6-0.2)/0.8 = 0.5, 0.25
    fused = score_fusion(lexical, dense, Weights(lexical=1.0, dense=1.0), cosine_floor=0.2)
    assert rounded(fused) == [(1, 1.0), (2, 1.0), (3, 0.25)]  # a tie keeps the lexical order
    double = score_fusion(lexical, dense, Weights(lexical=1.0, dense=2.0), cosine_floor=0.2)
    assert rounded(double) == [(2, 1.5), (1, 1.0), (3, 0.5)]


def test_a_ranking_with_weight_zero_brings_nothing_in() -> None:
    fused = score_fusion(Ranking([1], [3.0]), Ranking([7, 1], [0.9, 0.5]), Weights(1.0, 0.0), cosine_floor=0.3)
    assert fused == [(1, 1.0)]
    assert score_fusion(Ranking([], []), Ranking([], []), Weights(1.0, 1.0), cosine_floor=0.3) == []
