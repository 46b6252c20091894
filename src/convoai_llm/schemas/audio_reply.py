"""A reply's audio deltas folded into `message.audio` of a non-streaming chat completion.

OpenAI's shape: `{"id", "data", "transcript", "expires_at"}`, with `data` the whole reply's audio as
one base64 string (here PCM16 little-endian 16 kHz mono, as on the stream) and `transcript` the whole
text spoken. Each streamed delta is base64 of its own chunk, so the PCM is decoded and joined, then
encoded once (joining the base64 strings would corrupt the audio). The server keeps no audio:
`expires_at` is the completion's `created` (a client that wants the turn in its history sends the
transcript back as the assistant's `content`, or `audio.transcript`, which this server accepts).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from convoai_llm.errors import ConvoError
from convoai_llm.events import AudioDelta


class AudioReply:
    __slots__ = ("_pcm", "_transcript", "id")

    def __init__(self) -> None:
        self.id: str | None = None
        self._pcm = bytearray()
        self._transcript: list[str] = []

    def add(self, ev: AudioDelta) -> None:
        self.id = self.id or ev.id
        if ev.transcript is not None:
            self._transcript.append(ev.transcript)
        if ev.data is not None:
            try:
                self._pcm += base64.b64decode(ev.data, validate=True)
            except binascii.Error:
                raise ConvoError("The speech stream produced invalid audio data.") from None

    @property
    def pcm(self) -> bytes:
        return bytes(self._pcm)

    @property
    def transcript(self) -> str:
        return "".join(self._transcript).strip()

    def message_audio(self, expires_at: int) -> dict[str, Any] | None:
        """`message.audio`, or None when the reply had no audio deltas at all."""
        if self.id is None:
            return None
        return {"id": self.id, "data": base64.b64encode(self._pcm).decode("ascii"), "transcript": self.transcript,
                "expires_at": expires_at}  # fmt: skip
