# ruff: noqa: RUF001, RUF002 - Chinese punctuation
"""The retrieval budget of the local model: how much knowledge-base text it can read and still start
speaking soon after the waiting line.

A 0.5B model on two shared cores reads ~50-150 prompt tokens a second, so every passage sentence costs
~20 ms of silence. The budget keeps the best passages (in the question's language when there are any,
and none far below the best), and of each only the sentences that share the most words (English) or
character pairs (Chinese) with the question, in their original order, up to `max_passage_chars` (a
Chinese character counts 3, as in the chunker: ~0.7 of a token, where English has ~4 characters a
token). A kept sentence keeps its section's name ("北门服务中心：每天上午10点…"): a passage can hold
two sections (two service centres), and "周日照常营业" alone does not say whose hours those are. An
FAQ question is kept with its answer, the sentence after it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from convoai_llm.providers.local_prompt import grounded

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCES = re.compile(r"(?:[^.!?。！？；;\n]|\.(?=\d))+[.!?。！？；;]*")  # "0.15" is one number
_WRAP = re.compile(r"(?<=[^.!?。！？；;:\s])[ \t]*\n[ \t]*(?=[a-z(])")
_ENDS = '.!?。！？；;:：)）"”'
_HEADING_PATH = " > "
_STOP = frozenset(
    ["the", "and", "for", "are", "does", "you", "your", "our", "can", "how", "what", "when", "have", "with", "this"]
)


class Scored(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def text(self) -> str: ...


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


def is_chinese(text: str) -> bool:
    """Mostly Chinese: at least as many CJK characters as Latin words."""
    return len(_CJK.findall(text)) >= max(1, len(_WORD.findall(text.lower())))


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence (an FAQ question with its answer) and the name of its section ("" for none)."""

    text: str
    section: str


def _units(text: str) -> list[_Unit]:
    """The sentences of a passage with their section names. A line without a sentence end is a
    heading: the chunker starts every section with its path ("Pricing > Day pass"; the title alone
    names no section)."""
    units: list[_Unit] = []
    section = ""
    lines = [line for line in _unwrap(text).splitlines() if line.strip(" #\t")]
    for number, line in enumerate(lines):
        marked = line.lstrip().startswith("#")  # a Markdown heading
        line = line.strip(" #\t")
        if number < len(lines) - 1 and line[-1] not in _ENDS and weight(line) <= 100:
            section = line.rsplit(_HEADING_PATH, 1)[-1].strip() if marked or _HEADING_PATH in line else ""
            continue
        question = ""
        for sentence in (s.strip() for s in _SENTENCES.findall(line)):
            if not sentence:
                continue
            if sentence[-1] in "?？":
                question += sentence + ("" if _CJK.match(sentence[-2:-1] or "a") else " ")
                continue
            units.append(_Unit(question + sentence, section))
            question = ""
        if question:
            units.append(_Unit(question.strip(), section))
    return units


def _label(section: str) -> str:
    return f"{section}：" if section and is_chinese(section) else f"{section}: " if section else ""


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """Retrieval limits for the local model, measured by `bench/brain_bench.py` (README, "Embedded model").

    The core's retrieval stage: keep `select(passages, query)` (at most `max_passages`, at or above
    `min_score` and `min_ratio` of the best score, in the query's language when any is), cut each to
    `focus(passage.text, query)`, and build the messages with `prompt` (with no passage left, the model
    is told to say the knowledge base has no answer).
    """

    max_passages: int = 2
    max_passage_chars: int = 180
    min_score: float = 0.0
    min_ratio: float = 0.3
    min_sentence_ratio: float = 0.5
    first_token_target_s: float = 1.5

    def select(self, passages: Sequence[P], query: str = "") -> list[P]:
        """The passages to show the model, best first."""
        ranked = sorted((p for p in passages if p.score >= self.min_score), key=lambda p: p.score, reverse=True)
        if ranked:
            floor = ranked[0].score * self.min_ratio
            ranked = [p for p in ranked if p.score >= floor]
        if query:  # a passage in the other language is kept only when none is in the question's
            same = [p for p in ranked if is_chinese(p.text) == is_chinese(query)]
            ranked = same or ranked
        return ranked[: self.max_passages]

    @staticmethod
    def prompt(messages: list[dict[str, Any]], passages: list[str], lang: str) -> list[dict[str, Any]]:
        """The local model's knowledge-base prompt (`local_prompt.grounded`)."""
        return grounded(messages, passages, lang)

    def focus(self, text: str, query: str) -> str:
        """The sentences of `text` that share terms with `query` (scoring at least `min_sentence_ratio` of
        the best), the closest first, shown in their order within `max_passage_chars`, each group after
        its section's name."""
        units = _units(text)
        if not units:
            return ""
        wanted = _terms(query)
        found = [_terms(u.text) & wanted for u in units]
        # a term in many sentences ("opening hours" in a page about hours) tells less than a rare one ("Sunday")
        spread = Counter(term for terms in found for term in terms)
        scores = [sum(1 / spread[t] for t in terms) for terms in found]
        ranked = sorted(range(len(units)), key=lambda i: (-scores[i], i))
        chosen: list[int] = []
        # a sentence sharing nothing, or only common words ("open" when the question is about Sunday), is noise:
        # the model mixed "Open Monday to Friday from 7:30" into "Closed on Sundays"
        floor = max(scores) * self.min_sentence_ratio
        for i in [i for i in ranked if scores[i] > 0 and scores[i] >= floor] or ranked[:1]:
            if weight(self._render(units, sorted([*chosen, i]))) <= self.max_passage_chars:
                chosen.append(i)
        if not chosen:  # the best sentence alone is too long
            return self._head(self._render(units, [ranked[0]]))
        return self._render(units, sorted(chosen))

    @staticmethod
    def _render(units: list[_Unit], indices: list[int]) -> str:
        parts: list[str] = []
        section: str | None = None
        for i in indices:
            unit = units[i]
            head = _label(unit.section) if unit.section != section else ""
            section = unit.section
            parts.append(head + unit.text)
        return " ".join(parts)

    def _head(self, sentence: str) -> str:
        used = 0
        for i, char in enumerate(sentence):
            used += 3 if _CJK.match(char) else 1
            if used > self.max_passage_chars:
                return sentence[:i]
        return sentence
