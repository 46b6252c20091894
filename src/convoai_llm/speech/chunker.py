"""A reply's PCM in exact 1 280-byte chunks across its pieces, as audio deltas (pure).

Each piece's synthesis is appended; whole chunks go out at once and the sub-chunk tail is carried into
the next piece's first chunk, so only the reply's last chunk (`flush`) can be short. With word times,
the first data delta after a piece carries that piece's words, shifted to ms from the reply's start.
"""

from __future__ import annotations

from dataclasses import dataclass

from convoai_llm.events import AudioDelta, AudioWord
from convoai_llm.speech import pcm
from convoai_llm.speech.tts import Synthesis
from convoai_llm.speech.words import shift


@dataclass
class Chunker:
    """Cuts a reply's PCM into exact chunks across sentences; tracks the reply's PCM offset."""

    reply_id: str
    rest: bytes = b""
    offset_bytes: int = 0
    words: tuple[AudioWord, ...] | None = None  # waiting for the next data delta

    def add(self, synthesis: Synthesis, *, with_words: bool) -> list[AudioDelta]:
        if not synthesis.pcm:
            return []
        if with_words and synthesis.words:
            placed = shift(synthesis.words, round(self.offset_bytes / pcm.BYTES_PER_MS))
            self.words = placed if self.words is None else self.words + placed
        self.offset_bytes += len(synthesis.pcm)
        data = self.rest + synthesis.pcm
        whole = len(data) - len(data) % pcm.CHUNK_BYTES
        self.rest = data[whole:]
        return self._deltas(pcm.chunks(data[:whole]))

    def flush(self) -> list[AudioDelta]:
        rest, self.rest = self.rest, b""
        return self._deltas(pcm.chunks(rest))

    def _deltas(self, parts: list[bytes]) -> list[AudioDelta]:
        out = []
        for part in parts:
            out.append(AudioDelta(self.reply_id, data=pcm.b64(part), words=self.words))
            self.words = None
        return out
