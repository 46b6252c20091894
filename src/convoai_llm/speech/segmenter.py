"""Streaming sentence segmenter: text deltas in, completed sentences out (pure, no I/O).

Rules, applied left to right with a bounded look-ahead, so that feeding the text one character at a
time yields exactly the same sentences as feeding it all at once:

- A sentence ends after a run of terminators and closing quotes/brackets.
  Chinese/full-width terminators (``。！？；…`` and ``！？；．``) end it as soon as the character after
  the run is known. ASCII terminators (``. ! ? ;``) end it only when the run is followed by
  whitespace or a CJK character, so ``3.5``, ``v1.2`` and ``example.com`` are never cut.
- A ``.`` does not end a sentence after a known abbreviation (``e.g.``, ``Dr.``, ``Mr.``, ``vs.``…),
  a dotted acronym (``U.S.``, ``a.m.``) or a single-letter initial (``J. Smith``).
- A newline ends a sentence (LLM answers use line breaks for lists and paragraphs).
- A sentence whose weight (letters and digits; a CJK character counts 2) is below ``min_weight`` is
  not emitted on its own: it is merged into the next one ("Sure." + "Here is why.").
- A piece that weighs ``clause_weight`` (~8 words, 20 ideographs) or more is cut at the next clause
  break (``,`` ``，`` ``、`` ``:`` ``：``; ``;`` and ``；`` end sentences anyway), so a long sentence,
  or a reply without a full stop, is spoken clause by clause instead of waiting for its end.
- A piece that weighs ``max_weight`` or more with no break at all is cut before the next space (or
  between two ideographs): the length bound that keeps a reply with no punctuation from waiting for
  the model to finish.
- :meth:`Segmenter.cut_open` is the time bound (called by the voice pipeline when a piece has stayed
  open too long: a slow model, or one that writes without punctuation): the open piece up to its last
  word boundary (before the last space; the very end when the text ends with a mark or an
  ideograph), so no half-received word is spoken.
- Markdown emphasis markers (``*``, ``_``, `````) right after a terminator stay with the sentence
  (``**Sure!** Here…`` ends after ``**``).
- :meth:`Segmenter.settle` (the only timing-dependent input, called by the voice pipeline when the
  provider pauses) decides a sentence-ending mark at the very end without waiting for the next
  character. :meth:`Segmenter.weak_end` tells the pipeline when that mark is a ``.`` glued to a word
  (``example.`` may still become ``example.com``, ``Node.`` → ``Node.js``), so it waits longer first.

Whitespace is never dropped between sentences: the whitespace after a boundary starts the next
sentence, so ``"".join(sentences)`` equals the input, except that a trailing whitespace-only tail
is dropped by :meth:`Segmenter.flush`.
"""

# ruff: noqa: RUF001, RUF002  (CJK punctuation is the point of this module)

from __future__ import annotations

from dataclasses import dataclass

from convoai_llm.text import is_cjk

__all__ = ["Segmenter", "is_cjk", "weight"]

CJK_TERMINATORS = frozenset("。！？；…！？；．")
ASCII_TERMINATORS = frozenset(".!?;")
CLOSERS = frozenset("\"'”’)]}」』）】》〉*_`")
SOFT_BREAKS = frozenset("，、,:：")
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "eg", "ie", "cf",
        "approx", "fig", "figs", "vol", "inc", "ltd", "co", "corp", "dept", "est",
        "gen", "gov", "lt", "col", "sgt", "capt", "rev", "hon", "jan", "feb", "mar", "apr", "jun",
        "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ave", "blvd", "rd",
    }
)  # fmt: skip


def weight(text: str) -> int:
    """How much speech a piece of text carries: letters and digits, a CJK ideograph counts 2."""
    total = 0
    for char in text:
        if char.isalnum():
            total += 2 if is_cjk(char) else 1
    return total


def _last_space(text: str) -> int:
    """Index of the last whitespace in `text` (0 when there is none)."""
    for index in range(len(text) - 1, -1, -1):
        if text[index].isspace():
            return index
    return 0


def _is_abbreviation(word: str) -> bool:
    """`word` is the run of non-space characters ending with the '.' under test."""
    word = word.lstrip("\"'“‘([{")
    core = word[:-1]  # without the final '.'
    if not core:
        return False
    if len(core) == 1 and core.isalpha():
        return True  # an initial: "J. Smith", "e." in "e.g."
    letters = core.replace(".", "")
    if "." in core and letters.isalpha() and all(len(p) == 1 for p in core.split(".")):
        return True  # dotted acronym: "U.S.", "e.g.", "a.m."
    return core.lower() in ABBREVIATIONS


@dataclass
class Segmenter:
    """Cuts streamed text into sentences. `push` returns the sentences completed so far."""

    min_weight: int = 6
    clause_weight: int = 40
    max_weight: int = 120

    def __post_init__(self) -> None:
        self._buf = ""
        self._start = 0  # start of the pending sentence in _buf
        self._scan = 0  # next position to examine

    def reset(self) -> None:
        self._buf = ""
        self._start = 0
        self._scan = 0

    def push(self, text: str) -> list[str]:
        self._buf += text
        out = self._cut(final=False)
        self._compact()
        return out

    def flush(self) -> list[str]:
        """End of text: returns the pending sentences, short ones included; then resets.

        A tail with no letters or digits (a stray emoji or closing mark) joins the last sentence;
        trailing whitespace is dropped.
        """
        out = self._cut(final=True)
        tail = self._buf[self._start :]
        if tail.strip():
            if out and weight(tail) == 0:
                out[-1] += tail
            else:
                out.append(tail)
        if out:
            out[-1] = out[-1].rstrip()
        self.reset()
        return out

    def settle(self) -> list[str]:
        """The text has paused: treat the end of the buffer as followed by a space.

        Called by the voice pipeline after a short silence from the provider, so a sentence whose
        final mark arrived last is not held until the next token. A '.' right after a digit is
        left pending (a decimal may follow: LLM tokenizers often split "3", ".", "5").
        """
        if not self.can_settle():
            return []
        return self._cut(final=True)

    def weak_end(self) -> bool:
        """Whether the pending text ends with a '.' right after a letter or digit: a pause there is
        weaker evidence of a sentence end (``example.`` + ``com``), so the pipeline waits longer."""
        pending = self._buf[self._start :]
        return len(pending) >= 2 and pending[-1] == "." and pending[-2].isalnum()

    def can_settle(self) -> bool:
        """Whether the pending text ends with a sentence-ending mark that `settle` would act on."""
        pending = self._buf[self._start :].rstrip("".join(CLOSERS))
        if not pending or pending[-1] not in ASCII_TERMINATORS | CJK_TERMINATORS:
            return False
        return not (pending[-1] == "." and pending[-2:-1].isdigit())

    def cut_open(self) -> list[str]:
        """The open piece up to its last word boundary, as one piece (nothing when it has no whole word).

        The end of the text is a boundary when it is a space, or its last character is not a Latin
        letter or digit (a mark, an ideograph: Chinese tokens are whole characters); otherwise the
        piece is cut before its last space, and the word after it stays pending.
        """
        whole = self.pending
        pending = whole.rstrip()  # trailing spaces start the next piece (transcripts join)
        last = pending[-1:]
        at_boundary = whole[-1:].isspace() or not last.isalnum() or is_cjk(last)
        end = len(pending) if at_boundary else _last_space(pending)
        piece = pending[:end]
        if weight(piece) == 0:
            return []
        self._start += end
        self._scan = max(self._scan, self._start)
        return [piece]

    @property
    def pending(self) -> str:
        """Text received but not yet returned as a sentence."""
        return self._buf[self._start :]

    def _compact(self) -> None:
        if self._start > 4096:
            self._buf = self._buf[self._start :]
            self._scan -= self._start
            self._start = 0

    def _cut(self, *, final: bool) -> list[str]:
        out: list[str] = []
        buf = self._buf
        i = self._scan
        n = len(buf)
        while i < n:
            char = buf[i]
            end: int | None = None
            if char in CJK_TERMINATORS or char in ASCII_TERMINATORS:
                run_end = i + 1
                while run_end < n and (
                    buf[run_end] in CJK_TERMINATORS or buf[run_end] in ASCII_TERMINATORS or buf[run_end] in CLOSERS
                ):
                    run_end += 1
                if run_end == n and not final:
                    break  # the run may continue: decide when the next character arrives
                if self._ends_sentence(buf, i, run_end):
                    end = run_end
                else:
                    i = run_end
                    continue
            elif char == "\n" or self._too_long(buf, i):
                end = i
            elif char in SOFT_BREAKS and weight(buf[self._start : i]) >= self.clause_weight:
                if char.isascii():  # "1,000" and "10:30" are not breaks
                    if i + 1 == n and not final:
                        break
                    if i + 1 == n or buf[i + 1].isspace():
                        end = i + 1
                else:
                    end = i + 1
            if end is not None:
                sentence = buf[self._start : end]
                if weight(sentence) >= self.min_weight:
                    out.append(sentence)
                    self._start = end
                i = max(end, i + 1)
                continue
            i += 1
        self._scan = i
        return out

    def _too_long(self, buf: str, i: int) -> bool:
        """Past `max_weight` with no break: cut before a space, or between two ideographs."""
        char = buf[i]
        at_word = char.isspace() or (i > self._start and is_cjk(char) and is_cjk(buf[i - 1]) and char.isalnum())
        return at_word and weight(buf[self._start : i]) >= self.max_weight

    def _ends_sentence(self, buf: str, i: int, run_end: int) -> bool:
        run = buf[i:run_end]
        if any(c in CJK_TERMINATORS for c in run):
            return True
        after = buf[run_end] if run_end < len(buf) else " "
        if not (after.isspace() or is_cjk(after)):
            return False
        if run.rstrip("".join(CLOSERS)) == ".":
            word_start = i
            while word_start > self._start and not buf[word_start - 1].isspace():
                word_start -= 1
            return not _is_abbreviation(buf[word_start : i + 1])
        return True
