"""Chunker: splits a document into passages by headings, then paragraphs, then sentences.

Size and overlap are in *units*: one per character, three per CJK ideograph (a Chinese character
carries about as much as three English letters, and MiniLM spends one token on each), so one setting
fits both languages. Every chunk starts with its heading path ("Pricing > Day pass") so a passage names
its own topic for BM25, the embedding model and the LLM that reads it.

Chosen by measurement (``bench/rag_bench.py --sweep``, the labelled set in
``tests/rag/eval_set.py`` over ``examples/knowledge``; hit@3 / MRR):

    size  overlap  chunks  hit@3  MRR
     200        0      76  0.973  0.902
     200       40      76  0.973  0.902
     300        0      49  0.919  0.899
     300       50      49  0.919  0.899
     500        0      39  0.946  0.946
     500       80      39  0.973  0.973
     800        0      37  0.946  0.932
     800      130      37  0.946  0.932

The default, size 500 with overlap 80, has the best hit@3 and MRR: 200-unit chunks match as often but rank
the answer lower (a sentence cut from its neighbours loses context for the embedding), 300 splits several
sections mid-fact, and 800+ merges unrelated sections (safety rules) so their vectors blur. Three 500-unit
passages are about 400 tokens, which leaves room in the local model's 4 096-token context. Overlap only
matters where a section is longer than one chunk (safety.txt here): one short sentence of it keeps a fact
that straddles the cut retrievable from both sides at small cost. The sample set is small (37 questions,
one question = 0.027), so treat these as a sanity check, not a fine-grained optimum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from convoai_llm.rag.tokenize import is_cjk

DEFAULT_SIZE = 500
DEFAULT_OVERLAP = 80

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Full-width sentence ends and clause marks, escaped so no look-alike hides in the source.
_CJK_STOPS = "\u3002\uff01\uff1f\uff1b"
_CJK_CLAUSE = "\uff0c\uff1a"
_SENTENCE_END = re.compile(r"(?<=[.!?;" + _CJK_STOPS + r"])\s*")
_HEADING_SEPARATOR = " > "


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def measure(text: str) -> int:
    """Length in units: characters, with CJK ideographs counted three times."""
    return len(text) + 2 * len(_CJK_CHAR.findall(text))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage of a document: its text (heading path first) and its position in the document."""

    text: str
    position: int
    heading: str


_Piece = tuple[str, bool]  # a paragraph or sentence, and whether it starts a paragraph


@dataclass(frozen=True, slots=True)
class _Section:
    heading: str
    paragraphs: tuple[str, ...]


class Chunker:
    """Markdown-ish text (``#`` headings, blank-line paragraphs) to chunks of about ``size`` units."""

    def __init__(self, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP) -> None:
        if size < 50 or not 0 <= overlap < size // 2:
            raise ValueError("need size >= 50 and 0 <= overlap < size / 2")
        self.size = size
        self.overlap = overlap

    def chunk(self, text: str, title: str = "") -> list[Chunk]:
        """All chunks of ``text`` in document order; ``title`` heads chunks that have no heading."""
        chunks: list[Chunk] = []
        for section in _sections(text, title):
            prefix = f"{section.heading}\n" if section.heading else ""
            budget = max(self.size // 2, self.size - measure(prefix))  # the heading counts towards the size
            for body in self._pack(section.paragraphs, budget):
                chunks.append(Chunk(prefix + body, len(chunks), section.heading))
        return chunks

    def _pack(self, paragraphs: tuple[str, ...], size: int) -> list[str]:
        """Greedy packing of paragraphs (split into sentences when too long), with sentence overlap."""
        pieces: list[_Piece] = []
        for paragraph in paragraphs:
            if measure(paragraph) <= size:
                pieces.append((paragraph, True))
                continue
            parts = [part for s in _SENTENCE_END.split(paragraph) if s for part in _hard_cut(s.strip(), size)]
            pieces.extend((part, number == 0) for number, part in enumerate(parts) if part)
        bodies: list[str] = []
        current: list[_Piece] = []
        text, units = "", 0  # _join(current) and its measure, kept as pieces are added
        for piece in pieces:
            if current:
                joined = _append(text, piece)
                if units + measure(joined[len(text) :]) > size:
                    bodies.append(text)
                    current = self._tail(current, size - measure(piece[0]) - 1)
                    text = _join(current) if current else ""
                    units = measure(text)
            if current:
                joined = _append(text, piece)
                units += measure(joined[len(text) :])
                text = joined
            else:
                text, units = piece[0], measure(piece[0])
            current.append(piece)
        if current:
            bodies.append(text)
        return bodies

    def _tail(self, pieces: list[_Piece], room: int) -> list[_Piece]:
        """The last sentences of the previous chunk, up to ``overlap`` units, to start the next one."""
        limit = min(self.overlap, room)
        sentences = [s.strip() for s in _SENTENCE_END.split(pieces[-1][0]) if s.strip()]
        tail: list[str] = []
        for sentence in reversed(sentences):
            if measure(_join([(t, False) for t in [sentence, *tail]])) > limit:
                break
            tail.insert(0, sentence)
        return [(_join([(t, False) for t in tail]), True)] if tail else []


def _join(pieces: list[_Piece]) -> str:
    """Pieces to text: a new paragraph starts a line, a sentence follows with a space (none after CJK)."""
    text = pieces[0][0]
    for piece in pieces[1:]:
        text = _append(text, piece)
    return text


def _append(text: str, piece: _Piece) -> str:
    body, starts_paragraph = piece
    if starts_paragraph:
        return text + "\n" + body
    return text + body if is_cjk(text[-1]) or text[-1] in _CJK_STOPS else text + " " + body


def _hard_cut(sentence: str, size: int) -> list[str]:
    """A sentence longer than ``size`` cut into pieces of at most ``size`` units (linear time)."""
    parts: list[str] = []
    start, units = 0, 0
    for index, char in enumerate(sentence):
        width = measure(char)
        if units and units + width > size:
            parts.append(sentence[start:index])
            start, units = index, 0
        units += width
    tail = sentence[start:]
    return [*parts, tail] if tail else parts


def _join_lines(lines: list[str]) -> str:
    """Soft-wrapped lines of one paragraph: a space between words, nothing between CJK characters."""
    text = lines[0]
    for line in lines[1:]:
        text += line if is_cjk(text[-1]) or text[-1] in _CJK_STOPS + _CJK_CLAUSE else " " + line
    return text


def _sections(text: str, title: str) -> list[_Section]:
    """Sections of the text, each with its heading path (parent headings joined by " > ")."""
    sections: list[_Section] = []
    path: list[tuple[int, str]] = [(0, title)] if title else []
    paragraphs: list[str] = []
    lines: list[str] = []

    def close_paragraph() -> None:
        if lines:
            paragraphs.append(_join_lines(lines))
            lines.clear()

    def close_section() -> None:
        close_paragraph()
        if paragraphs:
            heading = _HEADING_SEPARATOR.join(name for _, name in path if name)
            sections.append(_Section(heading, tuple(paragraphs)))
            paragraphs.clear()

    for raw in text.splitlines():
        line = raw.strip()
        match = _HEADING.match(line)
        if match:
            close_section()
            level, name = len(match.group(1)), match.group(2)
            path = [(lvl, text_) for lvl, text_ in path if lvl < level]
            if not (level == 1 and path and path[-1][1] == name):
                path.append((level, name))
        elif line:
            lines.append(line)
        else:
            close_paragraph()
    close_section()
    return sections
