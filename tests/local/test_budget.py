# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""The local model's retrieval budget: the best passages, and of each the sentences the question needs."""

from __future__ import annotations

from dataclasses import dataclass

from convoai_llm.providers.local_budget import PromptBudget, weight

HOURS = (
    "# Stations and opening hours\nBikes can be picked up at any of our 42 stations around the clock.\n"
    "## Service centre: Harborview Central\nOpen Monday to Friday from 7:30 to 8 in the evening. Closed on Sundays.\n"
    "## Service centre: Northgate\nOpen every day from 10 in the morning to 9 in the evening, including Sundays."
)
HOURS_ZH = (
    "全城42个自助站点全天24小时开放。中央服务中心周一至周五营业；周日休息。"
    "北门服务中心每天上午10点到晚上9点营业，周日照常营业。"
)


@dataclass(frozen=True)
class Hit:
    text: str
    score: float


def test_select_keeps_the_best_passages_above_the_floor() -> None:
    budget = PromptBudget(max_passages=2, min_score=0.02)
    hits = [Hit("c", 0.021), Hit("a", 0.5), Hit("low", 0.01), Hit("b", 0.3)]
    assert [h.text for h in budget.select(hits)] == ["a", "b"]


def test_focus_keeps_the_sentences_about_the_question_within_the_budget() -> None:
    budget = PromptBudget(max_passage_chars=140)
    kept = budget.focus(HOURS, "What are your opening hours on Sunday?")
    assert "including Sundays" in kept and "Closed on Sundays" in kept
    assert "42 stations" not in kept and weight(kept) <= 140
    zh = budget.focus(HOURS_ZH, "周日几点开门？")
    assert "北门服务中心每天上午10点到晚上9点营业" in zh and weight(zh) <= 140


def test_focus_of_short_text_is_the_text_and_a_long_sentence_is_cut() -> None:
    budget = PromptBudget(max_passage_chars=40)
    assert budget.focus("Day pass: 15 dollars.", "day pass") == "Day pass: 15 dollars."
    assert len(budget.focus("x" * 100, "x")) == 40


def test_hard_wrapped_sentences_are_kept_whole() -> None:
    plans = (
        "Pricing > Monthly plans\nThe Commuter plan costs 29 dollars per month and includes 60 minutes every day.\n"
        "The Explorer plan costs 49 dollars per month and includes unlimited riding, a reserved bike\n"
        "up to 30 minutes ahead, and a free cargo basket."
    )
    kept = PromptBudget(max_passage_chars=140).focus(plans, "How much is the Explorer plan per month?")
    assert "Explorer plan costs 49 dollars" in kept
