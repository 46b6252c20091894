"""Text made speakable: what the caller hears and what the transcript says (pure).

Two forms of each sentence:

- :func:`transcript` — the text as it is **spoken**, written normally: markdown (``**bold**``,
  ``## headings``, ``- bullets``, `` `code` ``, links, tables) and emoji removed, since neither is
  heard; numbers, URLs and the like stay as written ("$5", "example.com"). This is what the engine
  shows and keeps as conversation history. Leading whitespace is kept, so transcripts of consecutive
  sentences still join with their spaces.
- :func:`spoken` — the words a voice reads for a run of one script: web addresses, e-mail addresses
  and file names said the way people say them ("example dot com slash docs", "support at example dot
  com", "notes dot T X T"), then numbers, dates, times, money and phone numbers as words
  (:mod:`convoai_llm.speech.normalize`), in English for a Latin run and in Chinese for a Han run.

Emoji are found with the `emoji` package (Unicode's emoji list, sequences and modifiers included).
"""

# ruff: noqa: RUF001  (Chinese punctuation)

from __future__ import annotations

import re
from dataclasses import dataclass

import emoji

from convoai_llm.speech import normalize
from convoai_llm.speech._script import Voice, runs

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]*)\)")
_LINE_MARK = re.compile(r"^(\s*)(?:#{1,6}\s+|>\s?|[-*+•]\s+(?!\d))", re.MULTILINE)
_EMPHASIS = re.compile(r"\*\*|__|~~|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)|(?<=\S)_(?!\w)|`+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.MULTILINE)
_PIPES = re.compile(r"\s*\|\s*")
_ESPEAK_PHONEMES = re.compile(r"\[\[|\]\]")
_SPACES = re.compile(r"[ \t\u00a0]+")

_SPELLED_TLDS = frozenset({"com", "org", "net", "edu", "gov", "info", "app", "dev", "shop", "online", "site"})
_EXTENSIONS = (
    "txt|md|pdf|py|js|ts|tsx|jsx|json|csv|tsv|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp3|mp4|wav|zip|gz|tar|"
    "html?|css|ya?ml|toml|ini|cfg|conf|log|sh|exe|dmg|apk|sql|xml|java|go|rs|cpp|c|h|rb|php|ipynb"
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`，。！？、）)\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|ai|dev|app|co|cn|uk|de|jp|info|me|tv)\b(/\S*)?")
_FILE = re.compile(rf"\b([\w-]+)\.({_EXTENSIONS})\b", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def transcript(text: str) -> str:
    """The text as spoken, written normally: no markdown, no emoji; leading whitespace kept."""
    lead = text[: len(text) - len(text.lstrip())]
    body = _FENCE.sub("", text)
    body = _IMAGE.sub(r"\1", body)
    body = _LINK.sub(r"\1", body)
    body = _TABLE_RULE.sub("", body)
    body = _LINE_MARK.sub(r"\1", body)
    body = _EMPHASIS.sub("", body)
    body = _ESPEAK_PHONEMES.sub("", body)
    body = _without_emoji(body)
    lines = [_SPACES.sub(" ", _cells(line)).strip() for line in body.splitlines()]
    cleaned = " ".join(line for line in lines if line)
    return lead + cleaned if cleaned else ""


def _without_emoji(text: str) -> str:
    """Emoji removed with the spaces just before them: "card 😊." → "card.", "a 🎉 b" → "a b"."""
    for found in reversed(emoji.emoji_list(text)):
        start = found["match_start"]
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        text = text[:start] + text[found["match_end"] :]
    return text


def _cells(line: str) -> str:
    """A markdown table row read as a list: ``| Day | $25 |`` → ``Day, $25``."""
    if "|" not in line:
        return line
    return ", ".join(cell for cell in _PIPES.split(line.strip().strip("|")) if cell.strip())


def _say_host(host: str) -> str:
    parts = [p for p in host.lower().split(".") if p]
    if parts and parts[0] == "www":
        parts = parts[1:]
    if parts and parts[-1] not in _SPELLED_TLDS and len(parts[-1]) <= 3:
        parts[-1] = " ".join(parts[-1].upper())  # "io" → "I O", "cn" → "C N"
    return " dot ".join(parts)


def _say_url(match: re.Match[str]) -> str:
    raw = match[0]
    tail = ""
    while raw and raw[-1] in _TRAILING:
        raw, tail = raw[:-1], raw[-1] + tail
    address = re.sub(r"^(?:https?://)", "", raw, flags=re.IGNORECASE)
    address = address.split("?", 1)[0].split("#", 1)[0]
    host, _, path = address.partition("/")
    segments = [s for s in path.split("/") if s]
    spoken = _say_host(host)
    for segment in segments:
        spoken += " slash " + _say_path(segment)
    return spoken + tail


def _say_path(segment: str) -> str:
    file = _FILE.fullmatch(segment)
    if file:
        return _say_file(file)
    return re.sub(r"[-_.]+", " ", segment)


def _say_file(match: re.Match[str]) -> str:
    return f"{match[1]} dot {' '.join(match[2].upper())}"


def _say_email(match: re.Match[str]) -> str:
    local, _, domain = match[0].partition("@")
    return f"{re.sub(r'[._]', ' dot ', local)} at {_say_host(domain)}"


def _say_domain(match: re.Match[str]) -> str:
    return _say_url(match)


def addresses(text: str) -> str:
    """Web addresses, e-mail addresses and file names as they are said aloud."""
    text = _URL.sub(_say_url, text)
    text = _EMAIL.sub(_say_email, text)
    text = _DOMAIN.sub(_say_domain, text)
    return _FILE.sub(_say_file, text)


def spoken(text: str, voice: Voice) -> str:
    """What a voice reads for a run of transcript text in one script (see :mod:`._script`)."""
    text = addresses(text)
    return normalize.chinese(text) if voice == "han" else normalize.english(text)


@dataclass(frozen=True, slots=True)
class Piece:
    """One script run of a transcript: the voice that reads it, its text as shown, and what is said."""

    voice: Voice
    text: str
    said: str


def pieces(text: str) -> list[Piece]:
    """A transcript sentence as runs to speak, each in its own voice; runs with nothing to say are left out."""
    out = [Piece(voice, run, spoken(run, voice)) for voice, run in runs(text)]
    return [piece for piece in out if any(c.isalnum() for c in piece.said)]
