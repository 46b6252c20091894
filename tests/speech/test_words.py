# ruff: noqa: RUF001  (Chinese punctuation in test texts)
from __future__ import annotations

import re

import numpy as np
import pytest

from convoai_llm.speech.tts import EspeakTTS
from convoai_llm.speech.words import estimate, shift, tokens, voiced_span_ms
from tests.speech.speech_helpers import needs_espeak


def test_tokens() -> None:
    assert tokens("Hello, world! How are you?") == ["Hello,", "world!", "How", "are", "you?"]
    assert tokens("你好，世界。") == ["你", "好，", "世", "界。"]
    assert tokens("我用 Python 写代码") == ["我", "用", "Python", "写", "代", "码"]
    assert tokens("“你”说abc") == ["“你”", "说", "abc"]
    assert tokens("   ") == []


def test_voiced_span() -> None:
    pcm = np.zeros(16_000, dtype="<i2")
    pcm[1600:8000] = 5000
    assert voiced_span_ms(pcm.tobytes()) == (100.0, 500.0)
    assert voiced_span_ms(bytes(3200)) == (0.0, 0.0)


def check(text: str, words: tuple, duration_ms: float) -> None:  # type: ignore[type-arg]
    assert "".join(w.text for w in words) == re.sub(r"\s+", "", text)
    starts = [w.start_ms for w in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for w in words:
        assert 0 <= w.start_ms <= w.end_ms <= duration_ms


def test_estimate_shares_the_voiced_span() -> None:
    pcm = np.zeros(32_000, dtype="<i2")
    pcm[3200:28800] = 4000  # voiced from 200 to 1800 ms
    text = "one three five"
    words = estimate(text, pcm.tobytes())
    check(text, words, 2000)
    assert words[0].start_ms == 200 and words[-1].end_ms == 1800
    assert words[1].end_ms - words[1].start_ms > words[0].end_ms - words[0].start_ms  # longer word


def test_estimate_of_silence_is_empty() -> None:
    assert estimate("hello", bytes(3200)) == ()
    assert estimate("", np.full(1600, 4000, dtype="<i2").tobytes()) == ()


def test_shift() -> None:
    pcm = np.full(16_000, 4000, dtype="<i2").tobytes()
    words = estimate("a b", pcm)
    moved = shift(words, 250)
    assert [w.start_ms - 250 for w in moved] == [w.start_ms for w in words]


@needs_espeak
@pytest.mark.parametrize("text", ["Subtitles follow the voice, word by word.", "字幕跟着声音，一个字一个字地走。"])
async def test_words_from_real_speech(text: str) -> None:
    result = await EspeakTTS().synthesize(text)
    check(text, result.words, result.duration_ms)
    assert len(result.words) == len(tokens(text))
    assert result.words[-1].end_ms > 0.6 * result.duration_ms
