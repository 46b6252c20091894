# ruff: noqa: RUF001 - Chinese punctuation
"""The retrieval budget of the local model: how much knowledge-base text it can read and still start
speaking soon after the waiting line.

A 0.5B model on two shared cores reads ~50 prompt tokens a second, so every passage sentence costs
~20 ms of silence. The budget keeps the best passages, and of each only the sentences that share the
most words (English) or character pairs (Chinese) with the question, in their original order, up to
`max_passage_chars` (a Chinese character counts 3, as in the chunker: ~0.7 of a token, where English
has ~4 characters a token).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCES = re.compile(r"[^.!?。！？；;\n]+[.!?。！？；;]*")
_WRAP = re.compile(r"(?<=[^.!?。！？；;:\s])[ \t]*\n[ \t]*(?=[a-z(])")
_STOP = frozenset(
    ["the", "and", "for", "are", "does", "you", "your", "our", "can", "how", "what", "when", "have", "with", "this"]
)


class Scored(Protocol):
    @property
    def score(self) -> float: ...


P = TypeVar("P", bound=Scored)


def _terms(text: str) -> set[str]:
    low = text.lower()
    # a four-letter prefix is stem enough here: Sunday/Sundays, open/opening, hour/hours
    words = {w[:4] for w in _WORD.findall(low) if w not in _STOP and (len(w) > 2 or w.isdigit())}
    pairs = {run[i : i + 2] for run in _CJK_RUN.findall(low) for i in range(max(1, len(run) - 1))}
    return words | pairs


def _unwrap(text: str) -> str:
    """Hard-wrapped lines joined back ("a reserved bike\nup to 30 minutes"): a line break before a
    lowercase letter continues the sentence."""
    return _WRAP.sub(" ", text)


def weight(text: str) -> int:
    return sum(3 if _CJK.match(c) else 1 for c in text)


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """Retrieval limits for the local model, measured by `bench/brain_bench.py` (README, "Embedded model").

    The core's retrieval stage should: keep `select(passages)` (at most `max_passages`, at or above
    `min_score`), pass each as `focus(passage.text, query)`, and use the no-passages prompt when none
    is left (the model then says the knowledge base has no answer).
    """

    max_passages: int = 2
    max_passage_chars: int = 140
    min_score: float = 0.0
    first_token_target_s: float = 1.5

    def select(self, passages: Sequence[P]) -> list[P]:
        """The passages to show the model: at or above `min_score`, best first, at most `max_passages`."""
        kept = [p for p in passages if p.score >= self.min_score]
        return sorted(kept, key=lambda p: p.score, reverse=True)[: self.max_passages]

    def focus(self, text: str, query: str) -> str:
        """The sentences of `text` closest to `query`, in their order, within `max_passage_chars`."""
        sentences = [s.strip() for s in _SENTENCES.findall(_unwrap(text)) if s.strip(" #\t")]
        wanted = _terms(query)
        found = [_terms(s) & wanted for s in sentences]
        # a term in many sentences ("opening hours" in a page about hours) tells less than a rare one ("Sunday")
        spread = Counter(term for terms in found for term in terms)
        scores = [sum(1 / spread[t] for t in terms) for terms in found]
        ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
        if not sentences:
            return ""
        if weight(sentences[ranked[0]]) >= self.max_passage_chars:  # the best sentence alone is too long
            return self._head(sentences[ranked[0]])
        chosen: list[int] = []
        used = 0
        for i in ranked:
            cost = weight(sentences[i]) + 1
            if used + cost <= self.max_passage_chars:
                chosen.append(i)
                used += cost
        return " ".join(sentences[i] for i in sorted(chosen))

    def _head(self, sentence: str) -> str:
        used = 0
        for i, char in enumerate(sentence):
            used += 3 if _CJK.match(char) else 1
            if used > self.max_passage_chars:
                return sentence[:i]
        return sentence
