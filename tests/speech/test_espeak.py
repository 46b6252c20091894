# ruff: noqa: RUF001  (Chinese punctuation in test texts)
from __future__ import annotations

import asyncio
import os
import wave
from pathlib import Path

import pytest

from convoai_llm.errors import Unavailable
from convoai_llm.speech import pcm
from convoai_llm.speech.tts import EspeakTTS, TTSEngine, TTSFailed, TTSUnavailable
from tests.speech.speech_helpers import children, needs_espeak


def spoken_span_ms(data: bytes) -> float:
    from convoai_llm.speech.words import voiced_span_ms

    start, end = voiced_span_ms(data)
    return end - start


@needs_espeak
async def test_english_synthesis_is_16khz_mono_pcm16_of_plausible_length(tmp_path: Path) -> None:
    tts = EspeakTTS()
    assert isinstance(tts, TTSEngine) and tts.available()
    text = "The quick brown fox jumps over the lazy dog."
    result = await tts.synthesize(text)
    path = tmp_path / "fox.wav"
    pcm.write_wav(path, result.pcm)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
        frames = w.readframes(w.getnframes())
    assert frames == result.pcm
    seconds = len(frames) / 32_000
    assert 1.8 < seconds < 5.0, seconds  # 9 words at 175 words per minute ≈ 3 s
    assert spoken_span_ms(frames) > 1500
    assert pcm.peak(frames) <= round(32767 * 10 ** (-1 / 20)) + 1  # 1 dB of headroom
    assert pcm.peak(frames) > 3000  # speech, not silence


@needs_espeak
async def test_longer_text_gives_longer_audio() -> None:
    tts = EspeakTTS()
    short = await tts.synthesize("Hello.")
    long = await tts.synthesize("Hello. This sentence is quite a bit longer than the first one was.")
    assert long.duration_ms > 2 * short.duration_ms


@needs_espeak
async def test_chinese_uses_the_pinyin_voice_and_speaks() -> None:
    tts = EspeakTTS("cmn-latn-pinyin")
    assert tts.command("你好")[1:3] == ["-v", "cmn-latn-pinyin"]
    by_script = EspeakTTS()  # no voice: chosen per call, as before voice sets
    assert by_script.command("Hello 世界")[1:3] == ["-v", "cmn-latn-pinyin"]
    assert by_script.command("Hello world")[1:3] == ["-v", "en-us"]
    result = await tts.synthesize("你好，今天天气很好。")
    assert 1.0 < result.duration_ms / 1000 < 6.0  # 9 syllables
    assert spoken_span_ms(result.pcm) > 800


@needs_espeak
async def test_text_is_never_taken_for_an_option() -> None:
    result = await EspeakTTS().synthesize("--help -v xx please read this")
    assert result.duration_ms > 1000


async def test_nothing_to_say_runs_nothing() -> None:
    tts = EspeakTTS(binary="/nonexistent/espeak-ng")
    assert await tts.synthesize(" ... !? ** ") == pcm_empty()


def pcm_empty() -> object:
    from convoai_llm.speech.tts import Synthesis

    return Synthesis(b"")


async def test_missing_binary_is_a_typed_503() -> None:
    tts = EspeakTTS(binary="/nonexistent/espeak-ng")
    assert not tts.available()
    with pytest.raises(TTSUnavailable) as info:
        await tts.synthesize("Hello there.")
    assert isinstance(info.value, Unavailable) and info.value.status == 503
    assert "espeak-ng" in str(info.value)


@needs_espeak
async def test_missing_voice_is_unavailable() -> None:
    with pytest.raises(TTSUnavailable):
        await EspeakTTS("zzz").synthesize("Hello there.")


async def test_cancellation_kills_and_reaps_the_process(slow_binary: tuple[Path, Path]) -> None:
    binary, pid_file = slow_binary
    task = asyncio.create_task(EspeakTTS(binary=str(binary)).synthesize("Hello there."))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    assert Path(f"/proc/{pid}").exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped: not even a zombie
    assert all(child[0] != pid for child in children())


async def test_timeout_is_a_failure_and_reaps(slow_binary: tuple[Path, Path]) -> None:
    binary, pid_file = slow_binary
    with pytest.raises(TTSFailed):
        await EspeakTTS(binary=str(binary), timeout_s=0.3).synthesize("Hello there.")
    assert not Path(f"/proc/{int(pid_file.read_text())}").exists()


async def test_failing_binary_is_a_failure(tmp_path: Path) -> None:
    binary = tmp_path / "broken"
    binary.write_text("#!/bin/sh\necho 'segfault' >&2\nexit 3\n")
    binary.chmod(0o755)
    with pytest.raises(TTSFailed, match="status 3"):
        await EspeakTTS(binary=str(binary)).synthesize("Hello there.")
    assert os.getpid() > 0 and not children("broken")


def test_a_sentence_longer_than_an_argument_may_be_is_spoken_in_pieces() -> None:
    """Issue 17 (Low): one sentence over 128 KiB failed with "Argument list too long"."""
    from convoai_llm.speech.tts import MAX_ARGUMENT_BYTES, argument_pieces

    words = " ".join(f"word{i}" for i in range(30_000))  # ~250 KB, no punctuation
    pieces = argument_pieces(words)
    assert len(pieces) > 1 and all(len(p.encode()) <= MAX_ARGUMENT_BYTES for p in pieces)
    assert " ".join(pieces) == words  # cut at spaces: nothing lost, no word split
    han = "你" * 50_000  # no space at all: cut on character boundaries, never inside a UTF-8 sequence
    assert "".join(argument_pieces(han)) == han and all(
        len(p.encode()) <= MAX_ARGUMENT_BYTES for p in argument_pieces(han)
    )
    assert argument_pieces("short") == ["short"]
