"""Which script a character is in, and text cut into runs of one script (pure; private to `speech/`).

`script_of` has the same meaning as `convoai_llm.text.script_of` in the lead's redesign, so this module
can later import it from there: ``han`` for a CJK ideograph, ``latin`` for a Latin letter, ``other``
for everything else (digits, spaces, punctuation, symbols, other scripts).

:func:`runs` cuts a sentence where it changes between Han and Latin letters, so each run can be
spoken by a voice of its language. Characters of no script (digits, spaces, marks) join the run they
follow; at a change of script, those after the last space go with the next run, so ``I have 3个``
gives ``I have `` + ``3个`` (the number is read in the language it is counted in). Text with no
letter at all is one run of `default`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Script = Literal["han", "latin", "other"]
Voice = Literal["han", "latin"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def is_han(char: str) -> bool:
    """True for one CJK ideograph."""
    return _HAN.fullmatch(char) is not None


def script_of(char: str) -> Script:
    """`han` for an ideograph, `latin` for an ASCII or Latin-1/Latin Extended letter, `other` for the rest."""
    if is_han(char):
        return "han"
    if char.isalpha() and ord(char) < 0x250:
        return "latin"
    return "other"


def _is_break(char: str) -> bool:
    """A space or a punctuation mark: where a run may end."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


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
