from __future__ import annotations

import asyncio
import re
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from convoai_llm.events import AudioDelta, Event, Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.speech import pcm
from convoai_llm.speech.clips import Clip
from convoai_llm.speech.tts import EspeakTTS, TTSFailed
from convoai_llm.speech.voice import play_clip, speak, speak_text
from tests.speech.speech_helpers import FakeTTS, children, needs_espeak

REPLY = "chatcmpl-test"


class Source:
    """A scripted provider: tokens with pauses; records when it finished or was closed."""

    def __init__(self, script: list[Event | float]) -> None:
        self.script = script
        self.finished_at: float | None = None
        self.closed = False

    async def events(self) -> AsyncIterator[Event]:
        try:
            for step in self.script:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                else:
                    yield step
            self.finished_at = time.monotonic()
        finally:
            self.closed = True


def tokens(text: str, size: int = 4) -> list[Event | float]:
    return [TextDelta(text[i : i + size]) for i in range(0, len(text), size)]


async def collect(stream: AsyncIterator[Event]) -> list[tuple[float, Event]]:
    return [(time.monotonic(), event) async for event in stream]


def audio_of(events: list[Event]) -> bytes:
    return b"".join(pcm.unb64(e.data) for e in events if isinstance(e, AudioDelta) and e.data)


def kinds(events: list[Event]) -> list[str]:
    out = []
    for e in events:
        name = type(e).__name__
        if isinstance(e, AudioDelta):
            name = "T" if e.transcript is not None else "A"
        if not out or out[-1] != name or name != "A":
            out.append(name)
    return out


FIRST = "Hello there, this is the first sentence."
SECOND = " And here comes the second one."


async def test_order_transcript_then_audio_per_sentence(fake_tts: FakeTTS) -> None:
    fake_tts.delays = {FIRST: 0.15, SECOND.strip(): 0.0}  # the second finishes synthesis first
    source = Source([Started("m"), *tokens(FIRST + SECOND), Finish("stop"), Usage(3, 4)])
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY))]
    assert kinds(events) == ["Started", "T", "A", "T", "A", "Finish", "Usage"]
    transcripts = [e.transcript for e in events if isinstance(e, AudioDelta) and e.transcript]
    assert transcripts == [FIRST, SECOND]
    assert "".join(transcripts) == FIRST + SECOND
    assert all(e.id == REPLY for e in events if isinstance(e, AudioDelta))
    assert audio_of(events) == FakeTTS.pcm_for(FIRST) + FakeTTS.pcm_for(SECOND)
    assert source.closed


async def test_chunks_are_exact_across_sentences_and_only_the_last_is_short(fake_tts: FakeTTS) -> None:
    source = Source([*tokens("One two three four five. Six seven eight nine ten. Eleven twelve."), Finish("stop")])
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY))]
    sizes = [len(pcm.unb64(e.data)) for e in events if isinstance(e, AudioDelta) and e.data]
    assert all(size == pcm.CHUNK_BYTES for size in sizes[:-1])
    assert 0 < sizes[-1] <= pcm.CHUNK_BYTES
    last_audio = max(i for i, e in enumerate(events) if isinstance(e, AudioDelta))
    assert isinstance(events[last_audio + 1], Finish)


async def test_first_audio_before_the_slow_second_sentence_is_generated(fake_tts: FakeTTS) -> None:
    source = Source([Started("m"), *tokens(FIRST), 0.6, *tokens(SECOND), Finish("stop")])
    timed = await collect(speak(source.events(), fake_tts, reply_id=REPLY))
    first_audio = next(t for t, e in timed if isinstance(e, AudioDelta) and e.data)
    assert source.finished_at is not None
    assert first_audio < source.finished_at - 0.4


async def test_a_pause_after_a_decimal_point_does_not_cut(fake_tts: FakeTTS) -> None:
    script = [TextDelta("It costs 3"), TextDelta("."), 0.2, TextDelta("5 dollars."), 0.2, TextDelta(" Bye now.")]
    events = [e for _, e in await collect(speak(Source(script).events(), fake_tts, reply_id=REPLY))]
    assert [e.transcript for e in events if isinstance(e, AudioDelta) and e.transcript] == [
        "It costs 3.5 dollars.",
        " Bye now.",
    ]


@needs_espeak
async def test_live_espeak_reply_is_clear_pcm_and_early(tmp_path: Path) -> None:
    source = Source([Started("m"), *tokens(FIRST), 0.8, *tokens(SECOND), Finish("stop")])
    timed = await collect(speak(source.events(), EspeakTTS(), reply_id=REPLY))
    events = [e for _, e in timed]
    first_audio = next(t for t, e in timed if isinstance(e, AudioDelta) and e.data)
    assert source.finished_at is not None and first_audio < source.finished_at - 0.5
    data = audio_of(events)
    path = tmp_path / "reply.wav"
    pcm.write_wav(path, data)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
        seconds = w.getnframes() / 16_000
    assert 3.0 < seconds < 9.0, seconds  # 13 words of speech and two sentence pauses


async def test_transcript_first_buffers_the_text(fake_tts: FakeTTS) -> None:
    tool = ToolCallDelta(0, id="call_1", name="f")
    script = [Started("m"), *tokens(FIRST), TextDelta(" "), tool, *tokens(SECOND[1:]), Finish("stop"), Usage(1, 2)]
    source = Source(script)
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY, transcript_first=True))]
    assert kinds(events) == ["Started", "T", "A", "ToolCallDelta", "A", "Finish", "Usage"]
    assert events[1] == AudioDelta(REPLY, transcript=(FIRST + SECOND).strip())
    assert audio_of(events) == FakeTTS.pcm_for(FIRST) + FakeTTS.pcm_for(SECOND)


async def test_transcript_first_still_synthesizes_while_generating() -> None:
    tts = FakeTTS(delays={FIRST: 0.4, SECOND.strip(): 0.4})
    source = Source([*tokens(FIRST), 0.4, *tokens(SECOND), Finish("stop")])
    start = time.monotonic()
    events = [e for _, e in await collect(speak(source.events(), tts, reply_id=REPLY, transcript_first=True))]
    assert time.monotonic() - start < 1.1  # 0.4 generating + 0.4 + 0.4 synthesizing, overlapped
    assert len(audio_of(events)) > 0


async def test_text_passes_through_when_asked(fake_tts: FakeTTS) -> None:
    source = Source([*tokens(FIRST), Finish("stop")])
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY, include_text=True))]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == FIRST
    without = [e for _, e in await collect(speak(Source(tokens(FIRST)).events(), fake_tts, reply_id=REPLY))]
    assert not any(isinstance(e, TextDelta) for e in without)


async def test_words_are_relative_to_the_reply_and_join_to_the_transcript(fake_tts: FakeTTS) -> None:
    text = "Hello there, my good friend. 今天的天气非常好。 See you later, alligator."
    source = Source([*tokens(text, 3), Finish("stop")])
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY, words=True))]
    words = [w for e in events if isinstance(e, AudioDelta) and e.words for w in e.words]
    assert all(e.words is None for e in events if isinstance(e, AudioDelta) and not e.data)
    assert "".join(w.text for w in words) == re.sub(r"\s+", "", text)
    starts = [w.start_ms for w in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    total_ms = pcm.duration_ms(audio_of(events))
    assert all(0 <= w.start_ms <= w.end_ms <= total_ms for w in words)
    assert words[-1].start_ms > pcm.duration_ms(FakeTTS.pcm_for("Hello there, my good friend."))


async def test_nothing_to_say_sends_no_audio(fake_tts: FakeTTS) -> None:
    source = Source([TextDelta("... !!! ???"), Finish("stop")])
    events = [e for _, e in await collect(speak(source.events(), fake_tts, reply_id=REPLY))]
    assert events == [AudioDelta(REPLY, transcript="... !!! ???"), Finish("stop")]


async def test_provider_error_propagates_and_cleans_up(fake_tts: FakeTTS) -> None:
    async def failing() -> AsyncIterator[Event]:
        yield TextDelta(FIRST + " Next")
        raise RuntimeError("upstream broke")

    with pytest.raises(RuntimeError, match="upstream broke"):
        await collect(speak(failing(), fake_tts, reply_id=REPLY))


async def test_tts_failure_propagates() -> None:
    class Broken(FakeTTS):
        async def synthesize(self, text: str) -> object:  # type: ignore[override]
            raise TTSFailed("no audio")

    with pytest.raises(TTSFailed):
        await collect(speak(Source(tokens(FIRST)).events(), Broken(), reply_id=REPLY))


async def test_aclose_cancels_synthesis_and_closes_the_provider() -> None:
    tts = FakeTTS(delays={SECOND.strip(): 5.0})
    source = Source([*tokens(FIRST + SECOND), 10.0, TextDelta("never")])
    stream = speak(source.events(), tts, reply_id=REPLY)
    async for event in stream:
        if isinstance(event, AudioDelta) and event.transcript == SECOND:
            break  # the caller hangs up while the second sentence is being synthesized
    await stream.aclose()
    assert source.closed
    assert tts.cancelled == [SECOND]


async def test_cancelling_the_consumer_kills_the_tts_process(slow_binary: tuple[Path, Path]) -> None:
    binary, pid_file = slow_binary
    source = Source([*tokens(FIRST), 10.0])

    async def consume() -> None:
        async for _ in speak(source.events(), EspeakTTS(binary=str(binary)), reply_id=REPLY):
            pass

    task = asyncio.create_task(consume())
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not Path(f"/proc/{pid}").exists()
    assert source.closed


@needs_espeak
async def test_hang_up_mid_speech_leaves_no_espeak_process() -> None:
    text = " ".join(f"This is sentence number {n}, spoken by the real engine." for n in range(40))
    source = Source([*tokens(text, 6), Finish("stop")])
    stream = speak(source.events(), EspeakTTS(), reply_id=REPLY, max_ahead=3)
    seen = 0
    async for event in stream:
        seen += isinstance(event, AudioDelta) and event.transcript is not None
        if seen == 3:
            break
    await stream.aclose()
    assert source.closed
    assert children("espeak-ng") == []


async def test_speak_text(fake_tts: FakeTTS) -> None:
    events = [e async for e in speak_text("Welcome back. How can I help you today?", fake_tts, reply_id=REPLY)]
    assert [e.transcript for e in events if isinstance(e, AudioDelta) and e.transcript] == [
        "Welcome back.",
        " How can I help you today?",
    ]
    assert audio_of(events)


def clip() -> Clip:
    return Clip("default", "Hello from a clip.", bytes(range(256)) * 40 + b"\x01\x02")  # 8 chunks + 2 bytes


async def test_play_clip_as_fast_as_possible() -> None:
    start = time.monotonic()
    events = [e async for e in play_clip(clip(), REPLY, realtime=False, words=True)]
    assert time.monotonic() - start < 0.1
    assert events[0] == AudioDelta(REPLY, transcript="Hello from a clip.")
    assert audio_of(events) == clip().pcm
    sizes = [len(pcm.unb64(e.data)) for e in events if e.data]
    assert sizes == [1280] * 8 + [2]
    assert events[1].words is not None and all(e.words is None for e in events[2:])


@pytest.mark.parametrize(("speed", "expected"), [(1.0, 0.32), (4.0, 0.08)])
async def test_play_clip_paces_in_real_time(speed: float, expected: float) -> None:
    times = [time.monotonic() async for e in play_clip(clip(), REPLY, speed=speed) if e.data]
    span = times[-1] - times[0]  # 9 chunks: the 9th leaves 8 intervals after the first
    assert expected * 0.95 < span < expected + 0.1


async def test_play_clip_rejects_bad_speed() -> None:
    with pytest.raises(ValueError):
        [e async for e in play_clip(clip(), REPLY, speed=0)]


def transcripts(events: list[Event]) -> list[str]:
    return [e.transcript for e in events if isinstance(e, AudioDelta) and e.transcript is not None]


@pytest.mark.parametrize("word", ["example.", "Node.", "notes."])
async def test_a_pause_after_the_dot_of_a_name_does_not_cut(fake_tts: FakeTTS, word: str) -> None:
    rest = {"example.": "com for the details.", "Node.": "js before you start.", "notes.": "txt on your desktop."}[word]
    script: list[Event | float] = [TextDelta(f"Please open {word}"), 0.06, TextDelta(rest), Finish("stop")]
    events = [e for _, e in await collect(speak(Source(script).events(), fake_tts, reply_id=REPLY))]
    assert transcripts(events) == [f"Please open {word}{rest}"]


async def test_a_pause_after_a_real_sentence_end_still_speaks_without_the_next_token(fake_tts: FakeTTS) -> None:
    source = Source([TextDelta("Your bike is ready for pickup."), 0.5, TextDelta(" Anything else?"), Finish("stop")])
    timed = await collect(speak(source.events(), fake_tts, reply_id=REPLY))
    first_audio = next(t for t, e in timed if isinstance(e, AudioDelta) and e.data)
    assert source.finished_at is not None and first_audio < source.finished_at - 0.3


async def test_a_reply_without_a_full_stop_is_spoken_before_it_ends(fake_tts: FakeTTS) -> None:
    text = " ".join(["we can certainly help you with that request"] * 8)  # 64 words, no punctuation
    source = Source([Started("m"), *[x for t in tokens(text) for x in (t, 0.01)], Finish("stop")])
    timed = await collect(speak(source.events(), fake_tts, reply_id=REPLY))
    first_audio = next(t for t, e in timed if isinstance(e, AudioDelta) and e.data)
    assert source.finished_at is not None and first_audio < source.finished_at - 0.5
    assert "".join(transcripts([e for _, e in timed])) == text


async def test_transcripts_are_what_is_spoken(fake_tts: FakeTTS) -> None:
    script: list[Event | float] = [TextDelta("## Summary\n**Sure!** You can pay by card 😊. "),
                                   TextDelta("🎉"), Finish("stop")]  # fmt: skip
    events = [e for _, e in await collect(speak(Source(script).events(), fake_tts, reply_id=REPLY))]
    assert transcripts(events) == ["Summary", "\nSure! You can pay by card."]
    assert [c.strip() for c in fake_tts.calls] == ["Summary", "Sure! You can pay by card."]
    assert not any("*" in c or "#" in c for c in fake_tts.calls)
