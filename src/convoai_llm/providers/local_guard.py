# ruff: noqa: RUF001, RUF002 - Chinese text and punctuation
"""Stops a small model's degenerate output: loops, and answers too long to speak.

Text is cut into units: a Latin word (letters, digits) or one CJK character, so the same rules hold for
"la Révéraire France, la Révéraire France, …" and "佛日几点开门？佛日几点开门？…". Punctuation is not a unit.

- **Loop**: the recent units end in the same run of 1–`max_period` units repeated back to back
  (`min_repeats` times for long runs, more for short ones, so "very very" is fine), or one n-gram of
  three or more distinct units occurs `max_ngram_repeats` times in the last `window` units (a loop
  with small variations).
- **Spoken length**: past `max_units` the answer ends at the next sentence end; past
  `hard_max_units` it ends where it is.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_UNIT = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_WORD_TAIL = re.compile(f"[^\\W_{_CJK}]+$")
_SENTENCE_END = re.compile(r"[.!?。！？…]['\")”’」]?\s*$")


@dataclass(frozen=True, slots=True)
class GuardLimits:
    max_period: int = 24
    min_repeats: int = 3
    short_period: int = 3
    """Runs this short or shorter must repeat `short_repeats` times ("no, no, no", or "你好" five times when
    asked, is speech, not a loop)."""
    short_repeats: int = 8
    ngram: int = 5
    max_ngram_repeats: int = 3
    window: int = 120
    max_units: int = 60
    """Spoken-length cap in units (~60 English words, or 60 Chinese characters ≈ 15 s of speech)."""
    hard_max_units: int = 90


@dataclass
class DegenerationGuard:
    """Feed it the streamed text; `check` says whether to stop and why ("loop", "long" or None)."""

    limits: GuardLimits = field(default_factory=GuardLimits)
    _units: list[str] = field(default_factory=list)
    _pending: str = ""
    _text_tail: str = ""

    def feed(self, piece: str) -> str | None:
        """Add a streamed piece; returns "loop" or "long" when generation should stop here, else None."""
        self._text_tail = (self._text_tail + piece)[-16:]
        text = self._pending + piece
        # The last Latin word may still be growing: keep it pending until a non-word character follows.
        match = _WORD_TAIL.search(text)
        self._pending = match.group() if match else ""
        if match:
            text = text[: match.start()]
        self._units.extend(u.lower() for u in _UNIT.findall(text))
        if self.looping():
            return "loop"
        n = len(self._units)
        if n >= self.limits.hard_max_units:
            return "long"
        if n >= self.limits.max_units and _SENTENCE_END.search(self._text_tail):
            return "long"
        return None

    @property
    def units(self) -> int:
        return len(self._units)

    def looping(self) -> bool:
        units = self._units[-self.limits.window :]
        return _tail_repeats(units, self.limits) or _ngram_repeats(units, self.limits)


def _tail_repeats(units: list[str], limits: GuardLimits) -> bool:
    n = len(units)
    for period in range(1, min(limits.max_period, n // 2) + 1):
        needed = limits.short_repeats if period <= limits.short_period else limits.min_repeats
        if period * needed > n:
            continue
        pattern = units[n - period :]
        if all(units[n - period * (k + 1) : n - period * k] == pattern for k in range(1, needed)):
            return True
    return False


def _ngram_repeats(units: list[str], limits: GuardLimits) -> bool:
    size = limits.ngram
    if len(units) < size * limits.max_ngram_repeats:
        return False
    grams = (tuple(units[i : i + size]) for i in range(len(units) - size + 1))
    # n-grams of one or two distinct units are short runs, left to `_tail_repeats`
    counts = Counter(g for g in grams if len(set(g)) > 2)
    return bool(counts) and counts.most_common(1)[0][1] >= limits.max_ngram_repeats
