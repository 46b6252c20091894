"""Word timings for subtitles (`delta.audio.words`), estimated from the text and the audio (pure).

espeak-ng's command line does not report word boundaries (its C API does, through synthesis
callbacks; a binding could replace this estimate later). The estimate:

1. The voiced span of the audio is found: from the first to the last sample louder than -40 dBFS
   (espeak-ng adds ~10 ms of lead-in and ~300 ms of trailing silence).
2. The span is shared among the words in proportion to their weight: letters and digits count 1,
   a CJK ideograph counts 3 (one syllable), plus 1 for the gap after each word and 3 more after a
   comma-like or sentence-ending mark (espeak-ng pauses there).
3. A word's time is its share of the span; gaps belong to no word.

Tokens: each CJK ideograph is a word; any other run of non-space characters is a word.
Punctuation stays with the word it touches, so ``"".join(w.text for w in words)`` equals the text
with its whitespace removed. Times are integer milliseconds from the start of the given audio,
strictly increasing starts, `end_ms` ≥ `start_ms`, all within the audio's duration.
"""

# ruff: noqa: RUF001  (CJK punctuation is the point of this module)

from __future__ import annotations

import numpy as np

from convoai_llm.events import AudioWord
from convoai_llm.speech.pcm import SAMPLE_RATE, SAMPLE_WIDTH
from convoai_llm.speech.segmenter import is_cjk

VOICE_THRESHOLD = 328  # -40 dBFS
_PAUSE_MARKS = frozenset(",;:.!?，、；：。！？…")


def tokens(text: str) -> list[str]:
    """Words for subtitles: CJK ideographs one by one, other non-space runs whole.

    Marks stay with the word before them ("好。", "Hello,"); leading marks with the word after.
    """
    out: list[str] = []
    current = ""
    last_ideograph: bool | None = None  # None while `current` holds no letter or digit
    for char in text:
        if char.isspace():
            if current:
                out.append(current)
            current, last_ideograph = "", None
            continue
        if char.isalnum():
            ideograph = is_cjk(char)
            if last_ideograph is not None and (ideograph or last_ideograph):
                out.append(current)
                current = ""
            last_ideograph = ideograph
        current += char
    if current:
        out.append(current)
    return out


def _weight(token: str) -> tuple[float, float]:
    """(speaking weight, pause weight after the token)."""
    speak = sum(3 if is_cjk(c) else 1 for c in token if c.isalnum())
    pause = 1.0 + (3.0 if token[-1] in _PAUSE_MARKS else 0.0)
    return max(float(speak), 0.5), pause


def voiced_span_ms(pcm: bytes, rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(start, end) in ms of the audio louder than -40 dBFS; (0, 0) for silence."""
    x = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.flatnonzero(x > VOICE_THRESHOLD)
    if loud.size == 0:
        return 0.0, 0.0
    return float(loud[0]) * 1000.0 / rate, float(loud[-1] + 1) * 1000.0 / rate


def estimate(text: str, pcm: bytes, rate: int = SAMPLE_RATE) -> tuple[AudioWord, ...]:
    """Word timings for `text` spoken in `pcm` (PCM16 mono at `rate`), by share of characters."""
    words = tokens(text)
    start, end = voiced_span_ms(pcm, rate)
    if not words or end <= start:
        return ()
    weights = [_weight(w) for w in words]
    total = sum(s + p for s, p in weights) - weights[-1][1]  # no pause after the last word
    scale = (end - start) / total
    duration = len(pcm) / SAMPLE_WIDTH * 1000.0 / rate
    out: list[AudioWord] = []
    cursor = start
    last_start = -1
    for word, (speak, pause) in zip(words, weights, strict=True):
        begin = max(round(cursor), last_start + 1)
        finish = max(begin, min(round(cursor + speak * scale), int(duration)))
        out.append(AudioWord(text=word, start_ms=begin, end_ms=finish))
        last_start = begin
        cursor += (speak + pause) * scale
    return tuple(out)


def shift(words: tuple[AudioWord, ...], offset_ms: int) -> tuple[AudioWord, ...]:
    """The same words, `offset_ms` later (to place a sentence within its reply)."""
    return tuple(AudioWord(w.text, w.start_ms + offset_ms, w.end_ms + offset_ms) for w in words)
