"""Which script a character is in, and text cut into runs of one script (pure; private to `speech/`).

`script_of` and `is_han` are the package's one definition (`convoai_llm.text`): ``han`` for a CJK
ideograph, ``latin`` for a Latin letter, ``other`` for everything else (digits, spaces, punctuation).

:func:`runs` cuts a sentence where it changes between Han and Latin letters, so each run can be
spoken by a voice of its language. Characters of no script (digits, spaces, marks) join the run they
follow; at a change of script, those after the last space go with the next run, so ``I have 3个``
gives ``I have `` + ``3个`` (the number is read in the language it is counted in). Text with no
letter at all is one run of `default`.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from convoai_llm.text import Script, han_count, is_han, script_of

Voice = Literal["han", "latin"]
__all__ = ["Script", "Voice", "has_han", "is_han", "runs", "script_of"]


def _is_break(char: str) -> bool:
    """A space or a punctuation mark: where a run may end."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def has_han(text: str) -> bool:
    return han_count(text) > 0


def runs(text: str, default: Voice = "latin") -> list[tuple[Voice, str]]:
    """`text` as consecutive (script, piece) runs; the pieces join back to `text` exactly."""
    out: list[tuple[Voice, str]] = []
    current: Voice | None = None
    start = 0  # start of the current run
    neutral = 0  # start of the trailing characters of no script
    for index, char in enumerate(text):
        script = script_of(char)
        if script == "other":
            continue
        if current is None:
            current = script
        elif script != current:
            cut = neutral
            for offset in range(index - 1, neutral - 1, -1):
                if _is_break(text[offset]):
                    cut = offset + 1
                    break
            out.append((current, text[start:cut]))
            start, current = cut, script
        neutral = index + 1
    if text[start:]:
        out.append((current or default, text[start:]))
    return [(voice, piece) for voice, piece in out if piece]
