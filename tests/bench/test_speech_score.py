# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""The speech bench's scoring rule (bench/speech_score.py): one form for both sides, the right unit."""

from __future__ import annotations

import pytest
from bench.speech_score import error_rate, folded, per_sentence


@pytest.mark.parametrize(
    ("spoken", "heard"),
    [
        ("我们的营业时间是早上九点到晚上六点。", "我們的營業時間是早上9點到晚上6點"),  # traditional, digits
        ("您的订单已经发货了，预计三天内送达。", "您的订单已经发货了 预计3天内送达"),  # punctuation, digits
        (
            "Your order number is 4521 and it shipped on Monday.",
            "your order number is four thousand five hundred and twenty-one and it shipped on monday",
        ),
        ("The store opens at 9 a.m. and closes at 6 p.m.", "The store opens at 9AM and closes at 6PM."),
        ("Your 3rd visit is free.", "Your third visit is free!"),
        ("我今天用 Python 写了一个小程序。", "我今天用python寫了一個小程序"),
    ],
)
def test_the_same_words_in_another_form_score_zero(spoken: str, heard: str) -> None:
    assert per_sentence(spoken, heard) == (0, len(folded(spoken).split()))
    assert error_rate([spoken], [heard]) == 0.0


def test_chinese_is_scored_in_characters_and_a_latin_word_is_one_unit() -> None:
    assert folded("这家店的 coffee 很好喝。").split() == ["这", "家", "店", "的", "coffee", "很", "好", "喝"]
    assert per_sentence("您好，请问有什么可以帮您？", "您好请问有什么可以帮你") == (1, 11)  # one character wrong
    assert per_sentence("这家店的 coffee 很好喝。", "这家店的copy很好喝") == (1, 8)


def test_english_is_scored_in_words_and_a_missing_reply_counts_every_word() -> None:
    assert per_sentence(
        "Please hold on while I look that up for you.", "Please hold on while I look at her for you."
    ) == (
        2,
        10,
    )
    assert per_sentence("Goodbye, and have a wonderful day!", "") == (6, 6)
    assert error_rate(["one two", "三四"], ["one", "三四"]) == pytest.approx(1 / 4)
