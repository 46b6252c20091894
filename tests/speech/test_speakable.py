# ruff: noqa: RUF001  (Chinese punctuation in test texts)
"""The text-made-speakable table: what the model wrote, what the transcript says, what each voice reads.

The transcript is the text as spoken, written normally (no markdown, no emoji); the spoken column is
what the voice for each script run is given (`latin` → the English voice, `han` → the Chinese voice).
The README's speech section shows this table as :func:`markdown_table` renders it (checked below);
after changing a row, write it there with ``.venv/bin/python -m tests.speech.test_speakable --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from convoai_llm.speech.speakable import addresses, pieces, transcript

TABLE: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    # (what, model text, transcript, [(voice, spoken)])
    ("emoji", "Great job! 🎉😊", "Great job!", [("latin", "Great job!")]),
    ("emoji with a skin tone", "👍🏽 Sounds good.", "Sounds good.", [("latin", "Sounds good.")]),
    ("URL", "See https://www.example.com/docs/setup?ref=chat for details.",
     "See https://www.example.com/docs/setup?ref=chat for details.",
     [("latin", "See example dot com slash docs slash setup for details.")]),
    ("bare domain", "Docs live at example.com/help.", "Docs live at example.com/help.",
     [("latin", "Docs live at example dot com slash help.")]),
    ("e-mail", "Write to support@zephyr-bikes.com today.", "Write to support@zephyr-bikes.com today.",
     [("latin", "Write to support at zephyr-bikes dot com today.")]),
    ("file names", "Open notes.txt and install Node.js first.", "Open notes.txt and install Node.js first.",
     [("latin", "Open notes dot T X T and install Node dot J S first.")]),
    ("markdown bold", "**Sure!** Here is the plan:", "Sure! Here is the plan:", [("latin", "Sure! Here is the plan:")]),
    ("markdown heading", "## Summary", "Summary", [("latin", "Summary")]),
    ("markdown list, italics", "- Book a bike for *two* hours", "Book a bike for two hours",
     [("latin", "Book a bike for two hours")]),
    ("code and link", "Use `pip install` and [the guide](https://example.com/guide).", "Use pip install and the guide.",
     [("latin", "Use pip install and the guide.")]),
    ("currency", "The fee is $1,250.50 per year.", "The fee is $1,250.50 per year.",
     [("latin", "The fee is one thousand, two hundred and fifty dollars and fifty cents per year.")]),
    ("percent, year", "It went up 12.5% in 2025.", "It went up 12.5% in 2025.",
     [("latin", "It went up twelve point five percent in twenty twenty-five.")]),
    ("phone number", "Call +1 (415) 555-0123.", "Call +1 (415) 555-0123.",
     [("latin", "Call plus one, four one five, five five five, zero one two three.")]),
    ("date, time", "We open on 2026-03-15 at 9:30 a.m.", "We open on 2026-03-15 at 9:30 a.m.",
     [("latin", "We open on March fifteenth, twenty twenty-six at nine thirty a m.")]),
    ("ordinal", "Your 3rd visit is free.", "Your 3rd visit is free.", [("latin", "Your third visit is free.")]),
    ("currency (zh)", "价格是¥128，可以打八五折。", "价格是¥128，可以打八五折。",
     [("han", "价格是一百二十八元，可以打八五折。")]),
    ("phone number (zh)", "请拨打138 1234 5678联系我们。", "请拨打138 1234 5678联系我们。",
     [("han", "请拨打幺三八，幺二三四，五六七八联系我们。")]),
    ("date, time (zh)", "我们2026年3月15日上午9:30开门。", "我们2026年3月15日上午9:30开门。",
     [("han", "我们二零二六年三月十五日上午九点三十分开门。")]),
    ("percent, number (zh)", "增长了12.5%，一共1,250辆车。", "增长了12.5%，一共1,250辆车。",
     [("han", "增长了百分之十二点五，一共一千二百五十辆车。")]),
    ("Han inside English", "The word 你好 means hello.", "The word 你好 means hello.",
     [("latin", "The word "), ("han", "你好 "), ("latin", "means hello.")]),
    ("English inside Chinese", "我喜欢用 Python 写代码。", "我喜欢用 Python 写代码。",
     [("han", "我喜欢用 "), ("latin", "Python "), ("han", "写代码。")]),
    ("domain inside Chinese", "请访问 zephyr-bikes.com 预约。", "请访问 zephyr-bikes.com 预约。",
     [("han", "请访问 "), ("latin", "zephyr-bikes dot com "), ("han", "预约。")]),
]  # fmt: skip


@pytest.mark.parametrize(("what", "text", "shown", "said"), TABLE, ids=[row[0] for row in TABLE])
def test_speakable_table(what: str, text: str, shown: str, said: list[tuple[str, str]]) -> None:
    assert transcript(text) == shown
    assert [(p.voice, p.said) for p in pieces(shown)] == said
    assert "".join(p.text for p in pieces(shown)) == shown  # every run of the transcript is spoken


README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- speakable table: generated from tests/speech/test_speakable.py -->"
END = "<!-- end of the speakable table -->"
VOICE_NAMES = {"latin": "en", "han": "zh"}


def _code(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def markdown_table() -> str:
    """TABLE as the README shows it: what the model writes, the transcript, what each voice reads."""
    lines = ["| case | the model writes | transcript | the voice reads (`en` / `zh` voice) |", "|---|---|---|---|"]
    for what, text, shown, said in TABLE:
        written = "(as written)" if shown == text else shown.replace("|", "\\|")
        read = " · ".join(f"{VOICE_NAMES[voice]}: {spoken.strip()}" for voice, spoken in said)
        lines.append(f"| {what} | {_code(text)} | {written} | {read} |")
    return "\n".join(lines)


def readme_block(readme: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[start:end].strip()


def test_the_readme_shows_this_table() -> None:
    assert readme_block(README.read_text(encoding="utf-8")) == markdown_table(), (
        "the README's speakable table differs: .venv/bin/python -m tests.speech.test_speakable --write"
    )


def test_transcript_keeps_leading_whitespace_and_drops_what_is_not_heard() -> None:
    assert transcript("  Next **one**.") == "  Next one."
    assert transcript(" 😊") == ""
    assert transcript("| Plan | Price |\n|---|---|\n| Day | $25 |") == "Plan, Price Day, $25"
    assert transcript("```python\nprint(1)\n```") == "print(1)"
    assert transcript("> quoted [[h@l'oU]] text") == "quoted h@l'oU text"


def test_addresses_leave_ordinary_sentences_alone() -> None:
    text = "It is 3.5 km. Then turn left, e.g. at the bank."
    assert addresses(text) == text
    assert addresses("Go to https://docs.example.io/a_b/c.") == "Go to docs dot example dot I O slash a b slash c."


def test_nothing_to_say() -> None:
    assert pieces("...!?") == []
    assert pieces("") == []


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + markdown_table() + "\n" + text[end:], encoding="utf-8")
