"""Text rules shared by every stage: which script a character is in, a message's text, joining fragments.

One definition each, used by retrieval (the waiting line's language, the query), speech (the voice per
script run), the tool loop (the apology's language, joining passes) and the local model. Pure functions,
no imports from the rest of the package.

- A *Han* character is a CJK ideograph (the characters Mandarin voices and jieba handle).
- `is_cjk` is wider: Han plus kana, hangul, CJK punctuation and full-width forms — the characters
  written without spaces between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Language = Literal["zh", "en"]
Script = Literal["han", "latin", "other"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# CJK symbols and punctuation, kana, hangul, Han, compatibility ideographs, full-width forms.
_CJK_RANGES = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
)


def is_han(char: str) -> bool:
    """True for one CJK ideograph."""
    return _HAN.fullmatch(char) is not None


def is_cjk(char: str) -> bool:
    """True for a character of a script written without spaces (Han, kana, hangul, CJK punctuation)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def script_of(char: str) -> Script:
    """`han` for an ideograph, `latin` for an ASCII or Latin-1/Latin Extended letter, `other` for the rest."""
    if is_han(char):
        return "han"
    if char.isalpha() and ord(char) < 0x250:
        return "latin"
    return "other"


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def language_of(text: str) -> Language:
    """`zh` when the text has ideographs and at least as many of them as Latin words, else `en`."""
    ideographs = han_count(text)
    return "zh" if ideographs and ideographs >= len(_LATIN_WORD.findall(text)) else "en"


def message_text(message: Mapping[str, Any]) -> str:
    """An OpenAI message's text: string content, its text parts concatenated (as OpenAI reads them), or an
    assistant audio transcript."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    audio = message.get("audio")
    if isinstance(audio, Mapping) and isinstance(audio.get("transcript"), str):
        return str(audio["transcript"])
    return ""


def last_user_text(messages: Iterable[Mapping[str, Any]]) -> str:
    """The text of the last `user` message (empty when there is none)."""
    last = ""
    for message in messages:
        if message.get("role") == "user":
            last = message_text(message)
    return last


def join_spoken(previous: str, text: str) -> str:
    """`text` with a leading space when it would otherwise run into `previous` (none between CJK)."""
    if not previous or not text:
        return text
    last, first = previous[-1], text[0]
    if last.isspace() or first.isspace() or is_cjk(last) or is_cjk(first):
        return text
    return " " + text
