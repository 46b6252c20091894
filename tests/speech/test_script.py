# ruff: noqa: RUF001  (Chinese punctuation in test texts)
from __future__ import annotations

import pytest

from convoai_llm.speech._script import has_han, runs, script_of


def test_script_of() -> None:
    assert [script_of(c) for c in "a你1 é。"] == ["latin", "han", "other", "other", "latin", "other"]
    assert has_han("Hi 你") and not has_han("Hi。")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The word 你好 means hello.", [("latin", "The word "), ("han", "你好 "), ("latin", "means hello.")]),
        ("I have 3个苹果", [("latin", "I have "), ("han", "3个苹果")]),
        ("你好，world", [("han", "你好，"), ("latin", "world")]),
        ("2026年3月15日", [("han", "2026年3月15日")]),
        ("我用Python写代码。", [("han", "我用"), ("latin", "Python"), ("han", "写代码。")]),
        ("42!", [("latin", "42!")]),
        ("", []),
    ],
)
def test_runs(text: str, expected: list[tuple[str, str]]) -> None:
    assert runs(text) == expected
    assert "".join(piece for _, piece in runs(text)) == text


def test_runs_default_for_text_without_letters() -> None:
    assert runs("42", default="han") == [("han", "42")]
