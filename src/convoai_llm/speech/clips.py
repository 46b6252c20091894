"""Pre-recorded clips: a directory of ``NAME.txt`` + ``NAME.pcm`` (or ``NAME.wav``) pairs.

Directory layout (``CONVOAI_AUDIO_DIR``)::

    default.txt   default.pcm     the transcript, and PCM16 LE 16 kHz mono audio
    hours.txt     hours.wav       any PCM WAV: converted to 16 kHz mono PCM16 on load
    keywords.json                 optional: {"opening hours": "hours", "营业时间": "hours"}

- ``NAME`` is letters, digits, ``_`` and ``-`` only; other files are ignored. A clip needs its
  ``.txt`` and one audio file (``.pcm`` wins over ``.wav``); an odd-length ``.pcm`` is an error.
  Files are read once, at load; symlinks pointing outside the directory are refused.
- **Selection rule** (:meth:`ClipLibrary.select`): the keywords in ``keywords.json`` are matched
  case-insensitively against the text (usually the last user message); ASCII keywords must match
  whole words, others (Chinese) anywhere. The longest matching keyword wins (ties: first in the
  file). With no match, the clip named ``default`` answers if there is one; otherwise ``None``
  (the caller falls back to live speech). ``keywords.json`` naming an unknown clip fails the load.
- A request never names a path: :meth:`ClipLibrary.get` only looks names up in the loaded set.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path

from convoai_llm.events import AudioDelta
from convoai_llm.speech import pcm
from convoai_llm.speech.pcm import (
    BYTES_PER_MS,
    SAMPLE_WIDTH,
    AudioFormatError,
    read_wav,
    to_engine_pcm,
)
from convoai_llm.speech.words import estimate

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_CLIP = "default"
KEYWORDS_FILE = "keywords.json"


class ClipError(ValueError):
    """The clip directory is unusable (bad audio, bad keywords.json, missing directory)."""


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    transcript: str
    pcm: bytes  # PCM16 LE, 16 kHz, mono

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / BYTES_PER_MS


@dataclass(frozen=True)
class ClipLibrary:
    clips: dict[str, Clip] = field(default_factory=dict)
    keywords: tuple[tuple[str, str], ...] = ()  # (lower-cased keyword, clip name), file order

    @classmethod
    def load(cls, directory: Path) -> ClipLibrary:
        root = directory.resolve()
        if not root.is_dir():
            raise ClipError(f"audio clip directory {directory} does not exist")
        clips: dict[str, Clip] = {}
        for txt in sorted(root.glob("*.txt")):
            name = txt.stem
            if not NAME_PATTERN.fullmatch(name):
                continue
            audio = next((p for p in (root / f"{name}.pcm", root / f"{name}.wav") if p.is_file()), None)
            if audio is None:
                continue
            clips[name] = Clip(name, _read_text(root, txt), _read_audio(root, audio))
        keywords = _read_keywords(root, clips)
        return cls(clips, keywords)

    @property
    def names(self) -> list[str]:
        return sorted(self.clips)

    def get(self, name: str) -> Clip | None:
        """The clip called `name` among the loaded ones; anything else (a path, say) is None."""
        return self.clips.get(name)

    def select(self, text: str) -> Clip | None:
        """The clip that answers `text` by the documented rule, or None for live speech."""
        lowered = text.lower()
        best: tuple[str, str] | None = None
        for keyword, name in self.keywords:
            if (best is None or len(keyword) > len(best[0])) and _matches(keyword, lowered):
                best = (keyword, name)
        if best is not None:
            return self.clips[best[1]]
        return self.clips.get(DEFAULT_CLIP)


def _matches(keyword: str, text: str) -> bool:
    if keyword.isascii():
        return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text) is not None
    return keyword in text


def _inside(root: Path, path: Path) -> Path:
    real = path.resolve()
    if not real.is_relative_to(root):
        raise ClipError(f"{path.name} points outside the clip directory")
    return real


def _read_text(root: Path, path: Path) -> str:
    text = _inside(root, path).read_text(encoding="utf-8").strip()
    if not text:
        raise ClipError(f"{path.name} is empty: a clip needs its transcript")
    return text


def _read_audio(root: Path, path: Path) -> bytes:
    real = _inside(root, path)
    if path.suffix == ".pcm":
        pcm = real.read_bytes()
        if len(pcm) % SAMPLE_WIDTH:
            raise ClipError(f"{path.name} has an odd length: not PCM16")
    else:
        try:
            pcm = to_engine_pcm(read_wav(real))
        except AudioFormatError as exc:
            raise ClipError(f"{path.name}: {exc}") from exc
    if not pcm:
        raise ClipError(f"{path.name} holds no audio")
    return pcm


def _read_keywords(root: Path, clips: dict[str, Clip]) -> tuple[tuple[str, str], ...]:
    path = root / KEYWORDS_FILE
    if not path.is_file():
        return ()
    try:
        raw = json.loads(_inside(root, path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClipError(f"{KEYWORDS_FILE}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ClipError(f"{KEYWORDS_FILE} must map keywords to clip names")
    out: list[tuple[str, str]] = []
    for keyword, name in raw.items():
        if not isinstance(name, str) or name not in clips:
            raise ClipError(f"{KEYWORDS_FILE}: keyword {keyword!r} names an unknown clip {name!r}")
        if keyword.strip():
            out.append((keyword.strip().lower(), name))
    return tuple(out)


async def play_clip(
    clip: Clip,
    reply_id: str,
    *,
    realtime: bool = True,
    speed: float = 1.0,
    words: bool = False,
) -> AsyncGenerator[AudioDelta, None]:
    """A pre-recorded clip: its transcript, then its PCM in 1 280-byte chunks (the last short).

    With `realtime`, chunk *i* leaves at start + i x 40 ms / `speed` (deadlines, so no drift);
    `speed` 2.0 sends twice as fast as playback. Without it, chunks go out as fast as they are read.
    With `words`, the first data delta carries word times estimated from the transcript.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    yield AudioDelta(reply_id, transcript=clip.transcript)
    timings = estimate(clip.transcript, clip.pcm) if words else None
    loop = asyncio.get_running_loop()
    start = loop.time()
    interval = pcm.CHUNK_BYTES / pcm.BYTES_PER_MS / 1000.0 / speed
    for index, part in enumerate(pcm.chunks(clip.pcm)):
        if realtime and index:
            delay = start + index * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        yield AudioDelta(reply_id, data=pcm.b64(part), words=timings if index == 0 else None)
