"""The time bound on flushing: a piece with no sentence or clause end is spoken after
`flush_after_ms`, up to its last word boundary (a slow model, or one that writes no punctuation)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from convoai_llm.core.voice import Voice
from convoai_llm.events import AudioDelta, Event, Finish, TextDelta
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.speech.segmenter import Segmenter
from convoai_llm.speech.voice import speak
from tests.conftest import make_settings
from tests.speech.speech_helpers import FakeTTS


@pytest.mark.parametrize(
    ("text", "cut", "left"),
    [
        ("we can certainly help you wi", "we can certainly help you", " wi"),  # half a word stays
        ("we can help ", "we can help", " "),  # a space ends the word; it starts the next piece
        (" and then", " and", " then"),
        ("我们的营业时间是", "我们的营业时间是", ""),  # an ideograph is a whole token
        ("Sure.", "Sure.", ""),  # too short to settle as a sentence, still spoken on time
        ("Call 555-", "Call 555-", ""),
        ("hello", None, "hello"),  # one word still arriving: nothing to cut yet
        ("   ", None, "   "),
    ],
)
def test_cut_open_stops_at_the_last_word_boundary(text: str, cut: str | None, left: str) -> None:
    segmenter = Segmenter()
    assert segmenter.push(text) == []
    assert segmenter.cut_open() == ([cut] if cut is not None else [])
    assert segmenter.pending == left


def test_cut_open_then_the_rest_joins_back_to_the_text() -> None:
    segmenter = Segmenter()
    out = segmenter.push("we can certainly he")
    out += segmenter.cut_open()
    out += segmenter.push("lp you with that. And more")
    out += segmenter.flush()
    assert out == ["we can certainly", " help you with that.", " And more"]


Timed = list[tuple[float, Event]]


async def slow_model(words: list[str], gap_s: float, done: list[float]) -> AsyncIterator[Event]:
    """A model that writes one word every `gap_s`, with no punctuation at all."""
    for word in words:
        yield TextDelta(word)
        await asyncio.sleep(gap_s)
    done.append(time.monotonic())
    yield Finish("stop")


async def timed(stream: AsyncIterator[Event]) -> Timed:
    return [(time.monotonic(), event) async for event in stream]


def transcripts(events: Timed) -> list[tuple[float, str]]:
    return [(t, e.transcript) for t, e in events if isinstance(e, AudioDelta) and e.transcript is not None]


WORDS = ["we", " can", " help", " you", " with", " that", " right", " now", " if", " you", " like"]


async def test_a_slow_reply_without_punctuation_is_spoken_before_the_model_finishes() -> None:
    done: list[float] = []
    start = time.monotonic()
    events = await timed(speak(slow_model(WORDS, 0.08, done), FakeTTS(), reply_id="r", flush_after_ms=250))
    said = transcripts(events)
    assert len(said) >= 2, said  # the time bound cut at least once before the end
    first_at, first = said[0]
    assert first_at < done[0] - 0.2  # spoken while the model was still writing
    assert first_at - start >= 0.2  # not before `flush_after_ms` (250 ms) after the first word
    assert first.split() == [w.strip() for w in WORDS][: len(first.split())]  # whole words only
    assert "".join(text for _, text in said) == "".join(WORDS)  # nothing lost or repeated
    assert any(isinstance(e, AudioDelta) and e.data for t, e in events if t < done[0])


async def test_the_time_bound_off_waits_for_the_model() -> None:
    done: list[float] = []
    events = await timed(speak(slow_model(WORDS, 0.04, done), FakeTTS(), reply_id="r", flush_after_ms=0))
    said = transcripts(events)
    assert [text for _, text in said] == ["".join(WORDS)]
    assert said[0][0] >= done[0]


async def test_a_half_received_word_is_never_spoken() -> None:
    async def model() -> AsyncIterator[Event]:
        yield TextDelta("please hold on while I lo")
        await asyncio.sleep(0.4)
        yield TextDelta("ok that up")
        yield Finish("stop")

    events = await timed(speak(model(), FakeTTS(), reply_id="r", flush_after_ms=150))
    assert [text for _, text in transcripts(events)] == ["please hold on while I", " look that up"]


async def test_the_setting_reaches_live_speech() -> None:
    settings = make_settings(audio_flush_after_ms=200, audio_mode="live")
    assert settings.audio.flush_after_ms == 200
    voice = Voice(settings.audio, FakeTTS(), None)
    req = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], "stream": True})
    done: list[float] = []
    events = await timed(voice.live(req, "r")(slow_model(WORDS, 0.08, done)))
    assert transcripts(events)[0][0] < done[0] - 0.2


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="audio_flush_after_ms"):
        make_settings(audio_flush_after_ms=-1)
