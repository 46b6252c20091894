# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""The warm espeak-ng engine: libespeak-ng in this process, one worker thread, the command line as fallback.

The library's output is the command line's up to espeak-ng's pitch flutter, whose phase carries on from
one call to the next in one process: lengths agree within a few ms, not byte for byte."""

from __future__ import annotations

import asyncio
import logging

import pytest

from convoai_llm.speech import pcm
from convoai_llm.speech.espeak_lib import EspeakLibrary, EspeakLibTTS
from convoai_llm.speech.tts import EspeakTTS
from convoai_llm.speech.words import voiced_span_ms
from tests.speech.speech_helpers import children, needs_espeak

SENTENCE = "The package should arrive within three to five business days."


@needs_espeak
async def test_the_library_speaks_as_the_command_line_does_without_a_process() -> None:
    library = EspeakLibrary()
    english = EspeakLibTTS(library, EspeakTTS("en-us"))
    await english.start()
    assert library.available() and await english.ready()
    warm = await english.synthesize(SENTENCE)
    assert children("espeak-ng") == []  # no process was started
    cold = await EspeakTTS("en-us").synthesize(SENTENCE)
    assert abs(warm.duration_ms - cold.duration_ms) < 0.01 * cold.duration_ms  # the same speech and end pause
    start, end = voiced_span_ms(warm.pcm)
    assert end - start > 0.8 * (voiced_span_ms(cold.pcm)[1] - voiced_span_ms(cold.pcm)[0])
    assert pcm.peak(warm.pcm) <= round(32767 * 10 ** (-1 / 20)) + 1
    assert [w.text for w in warm.words][:3] == ["The", "package", "should"]
    assert (await english.synthesize(" ... ")).pcm == b""
    await english.aclose()


@needs_espeak
async def test_two_voices_of_one_library_at_once_keep_their_own_voice() -> None:
    library = EspeakLibrary()
    english = EspeakLibTTS(library, EspeakTTS("en-us"))
    chinese = EspeakLibTTS(library, EspeakTTS("cmn-latn-pinyin"))
    await english.start()
    await chinese.start()
    alone_en = (await english.synthesize(SENTENCE)).duration_ms
    alone_zh = (await chinese.synthesize("您好，请问有什么可以帮您？")).duration_ms
    together = await asyncio.gather(
        *[english.synthesize(SENTENCE) if i % 2 else chinese.synthesize("您好，请问有什么可以帮您？") for i in range(8)]
    )
    for i, result in enumerate(together):  # within 1 %: espeak-ng's pitch flutter carries on between calls
        assert abs(result.duration_ms - (alone_en if i % 2 else alone_zh)) < 0.01 * alone_en
    await english.aclose()


async def test_without_the_library_the_command_line_speaks(caplog: pytest.LogCaptureFixture) -> None:
    library = EspeakLibrary(name="no-such-espeak-library")
    process = EspeakTTS("en-us")
    voice = EspeakLibTTS(library, process)
    with caplog.at_level(logging.WARNING, "convoai_llm.speech"):
        await voice.start()
    assert not library.available()
    assert "libespeak-ng unavailable" in caplog.text
    assert voice.available() == process.available()
    if process.available():
        assert (await voice.synthesize("Hello there.")).duration_ms > 300
