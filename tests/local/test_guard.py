# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""The degeneration guard on the loops the issue reported and on answers that must pass untouched."""

from __future__ import annotations

import pytest

from convoai_llm.providers.local_guard import DegenerationGuard, GuardLimits


def stream(text: str, step: int = 3, limits: GuardLimits | None = None) -> tuple[str | None, int]:
    """Feeds `text` in pieces of `step` characters; the verdict and how many characters were read."""
    guard = DegenerationGuard(limits or GuardLimits())
    for i in range(0, len(text), step):
        verdict = guard.feed(text[i : i + step])
        if verdict:
            return verdict, i + step
    return None, len(text)


@pytest.mark.parametrize(
    "text",
    [
        "L'Étoile, la Cité, la France, la Révolution, la Révéra, " + "la Révéraire France, " * 6,
        "Sunday is closed. " + "I'm happy to answer any question you may have about my services. " * 6,
        "佛日几点开门？" * 8,
        "我可以帮你。" + "这个问题很好，" * 6,
        "the the the the the the the the the the",
        "我我我我我我我我我我",
    ],
)
def test_loops_are_stopped_early(text: str) -> None:
    verdict, read = stream(text)
    assert verdict == "loop"
    assert read < len(text)


@pytest.mark.parametrize(
    "text",
    [
        "The capital of France is Paris.",
        "Northgate is open every day from 10 in the morning to 9 in the evening, including Sundays.",
        "Monday to Friday 9 to 6, Saturday 9 to 6, Sunday 10 to 4.",
        "No, no, no. Very very good. Good morning, good morning, good morning.",
        "你好你好你好你好你好",
        "中国的首都是北京。",
        "中央服务中心周日休息，北门服务中心每天上午10点到晚上9点营业，两个服务中心节假日上午10点到下午4点营业。",
    ],
)
def test_answers_pass(text: str) -> None:
    assert stream(text) == (None, len(text))


def test_a_long_answer_ends_at_the_next_sentence_end() -> None:
    limits = GuardLimits(max_units=10, hard_max_units=40)
    text = "One two three four five six seven eight nine ten eleven twelve. Thirteen fourteen."
    verdict, read = stream(text, step=1, limits=limits)
    assert verdict == "long"
    assert text[:read].endswith("twelve.")


def test_an_answer_without_sentence_ends_stops_at_the_hard_cap() -> None:
    limits = GuardLimits(max_units=5, hard_max_units=12)
    text = " ".join(f"w{i}" for i in range(40))
    verdict, read = stream(text, step=1, limits=limits)
    assert verdict == "long"
    assert len(text[:read].split()) <= 13


def test_chinese_characters_are_units() -> None:
    guard = DegenerationGuard()
    guard.feed("北京是中国的首都。")
    assert guard.units == 8
