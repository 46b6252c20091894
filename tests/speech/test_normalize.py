# ruff: noqa: RUF001  (Chinese punctuation in test texts)
from __future__ import annotations

import pytest

from convoai_llm.speech import normalize


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("$12.", "twelve dollars."),
        ("$1 and 1 cent: $0.01", "one dollar and 1 cent: zero dollars and one cent"),
        ("£3.50 or €5", "three pounds and fifty pence or five euros"),
        ("$2.5 million", "two point five million dollars"),
        ("at 10:00 and at 14:00", "at ten o'clock and at fourteen hundred"),
        ("from 9:05 am to 5 pm", "from nine oh five a m to 5 pm"),
        ("on 03/15/2026", "on March fifteenth, twenty twenty-six"),
        ("on 2026-13-45", "on 2026-13-45"),  # not a date: left to the voice
        ("order 12345678", "order one two three four five six seven eight"),
        ("code 0451", "code zero four five one"),
        ("-3 degrees, 12.5 kg, 1,250 items", "-3 degrees, 12.5 kg, 1,250 items"),  # the voice reads them
        ("since 1999", "since nineteen ninety-nine"),
        ("1999 people", "1999 people"),
        ("call 415-555-0123", "call four one five, five five five, zero one two three"),
        ("v2 and mp3", "v2 and mp3"),
    ],
)
def test_english(text: str, said: str) -> None:
    assert normalize.english(text) == said


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("还剩-3度", "还剩负三度"),
        ("第3名", "第三名"),
        ("电话13812345678", "电话幺三八，幺二三四，五六七八"),
        ("订单号0451", "订单号零四五一"),
        ("下午2:05见", "下午二点零五分见"),
        ("3月8日", "三月八日"),
        ("$5一个", "五美元一个"),
        ("2026年", "二零二六年"),
    ],
)
def test_chinese(text: str, said: str) -> None:
    assert normalize.chinese(text) == said
