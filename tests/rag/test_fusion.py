from __future__ import annotations

import pytest

from convoai_llm.rag.fusion import reciprocal_rank_fusion


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
