# ruff: noqa: RUF001 - Chinese sentences use full-width punctuation
"""Speech benchmark: time from a sentence's end to its first audio chunk (DESIGN.md target ≤ 150 ms).

    .venv/bin/python bench/speech_bench.py                 # 30 sentences, both scenarios
    .venv/bin/python bench/speech_bench.py --sentences 60 --pacing-ms 30

A scripted provider streams the sentences (24 English, 6 Chinese, cycled) in ~4-character tokens paced
`--pacing-ms` apart, through `convoai_llm.speech.voice.speak` with the real espeak-ng engine. For each
sentence, the clock starts when the provider yields the token holding its final mark and stops when the
first `delta.audio.data` chunk carrying that sentence's audio leaves `speak`. Scenarios:

- streaming: the next sentence follows at once (its first token confirms the previous sentence's end,
  one token interval later; that wait is included);
- pause: the provider pauses `--pause-ms` after each sentence (the pipeline settles the sentence after
  `settle_ms` = 30 ms of silence; that wait is included).

Also reported: the espeak-ng synthesis alone (process start to 16 kHz PCM) for the same sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator

from convoai_llm.events import AudioDelta, Event, Finish, Started, TextDelta
from convoai_llm.speech.segmenter import is_cjk
from convoai_llm.speech.tts import EspeakTTS
from convoai_llm.speech.voice import speak

SENTENCES = [
    "Sure, I can help you with that right away.",
    "Your order number is 4521 and it shipped on Monday.",
    "The package should arrive within three to five business days.",
    "Is there anything else I can do for you today?",
    "The store opens at 9 a.m. and closes at 6 p.m. on weekdays.",
    "You can return any item within thirty days of purchase.",
    "Our premium plan costs 12.5 dollars per month.",
    "Please hold on while I look that up for you.",
    "I found two accounts registered under that email address.",
    "Dr. Chen will be available for a call tomorrow afternoon.",
    "The weather in Shanghai is sunny with a high of 28 degrees.",
    "Let me transfer you to a specialist who can answer that.",
    "Your appointment has been moved to Thursday at four o'clock.",
    "That feature is available on all plans, e.g. the basic one.",
    "I'm sorry, but I could not find a matching reservation.",
    "Would you like me to send the details by text message?",
    "The total comes to 84 dollars and 20 cents, including tax.",
    "Thanks for waiting, I have the answer now.",
    "Your password was reset a few minutes ago.",
    "The next train to the airport leaves in twelve minutes.",
    "We ship to the U.S. and Canada at no extra cost.",
    "Please say yes to confirm, or no to cancel.",
    "I have added the item to your shopping cart.",
    "Goodbye, and have a wonderful day!",
    "您好，请问有什么可以帮您？",
    "您的订单已经发货了，预计三天内送达。",
    "我们的营业时间是早上九点到晚上六点。",
    "好的，我已经帮您预约了明天下午的时间。",
    "这个问题我需要转给专业同事处理。",
    "感谢您的耐心等待，祝您生活愉快！",
]


def pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def run(sentences: list[str], pacing_s: float, pause_s: float) -> list[float]:
    """Latencies in ms, one per sentence (end of sentence → its first audio chunk)."""
    ends: list[float] = []

    async def provider() -> AsyncIterator[Event]:
        yield Started("bench")
        for index, sentence in enumerate(sentences):
            text = sentence if index == 0 or is_cjk(sentence[0]) else " " + sentence
            for piece in pieces(text):
                await asyncio.sleep(pacing_s)
                yield TextDelta(piece)
            ends.append(time.perf_counter())
            if pause_s:
                await asyncio.sleep(pause_s)
        yield Finish("stop")

    first_audio: list[float] = []
    transcripts = 0
    async for event in speak(provider(), EspeakTTS(), reply_id="bench"):
        if not isinstance(event, AudioDelta):
            continue
        if event.transcript is not None:
            transcripts += 1
        elif event.data is not None and len(first_audio) < transcripts:
            first_audio.append(time.perf_counter())
    if len(first_audio) != len(sentences):
        raise SystemExit(f"expected {len(sentences)} sentences, the segmenter produced {len(first_audio)}")
    return [(audio - end) * 1000 for audio, end in zip(first_audio, ends, strict=True)]


async def synthesis_only(sentences: list[str]) -> list[float]:
    tts = EspeakTTS()
    out = []
    for sentence in sentences:
        start = time.perf_counter()
        await tts.synthesize(sentence)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name:<44} p50 {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {ordered[-1]:6.1f} ms   (n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=30)
    ap.add_argument("--pacing-ms", type=float, default=20.0, help="gap between provider tokens")
    ap.add_argument("--pause-ms", type=float, default=400.0, help="pause after each sentence (pause run)")
    ap.add_argument("--target-ms", type=float, default=150.0)
    args = ap.parse_args(argv)
    if not EspeakTTS().available():
        print("espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 2
    sentences = [SENTENCES[i % len(SENTENCES)] for i in range(args.sentences)]
    synth = asyncio.run(synthesis_only(sentences))
    streaming = asyncio.run(run(sentences, args.pacing_ms / 1000, 0.0))
    paused = asyncio.run(run(sentences, args.pacing_ms / 1000, args.pause_ms / 1000))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"espeak-ng, {args.sentences} sentences, tokens every {args.pacing_ms:g} ms; load average {load}")
    print(summary("synthesis alone (espeak-ng → 16 kHz PCM)", synth))
    print(summary("sentence end → first audio, streaming", streaming))
    print(summary(f"sentence end → first audio, {args.pause_ms:g} ms pauses", paused))
    worst = max(sorted(v)[round(0.95 * (len(v) - 1))] for v in (streaming, paused))
    verdict = "meets" if worst <= args.target_ms else "MISSES"
    print(f"target: first audio ≤ {args.target_ms:g} ms after the sentence ends (p95) — {verdict}")
    return 0 if worst <= args.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
