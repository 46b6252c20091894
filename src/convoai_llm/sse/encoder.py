"""Events → `data: <chunk json>\\n\\n` bytes, one id and `created` per stream.

The chunk envelope is built once per stream as byte templates, so a text delta costs one small
`orjson.dumps` and two concatenations.
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson

from convoai_llm.errors import error_envelope
from convoai_llm.events import AudioDelta, Finish, Metadata, Sources, TextDelta, ToolCallDelta, Usage

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def hex_id(bits: int = 128) -> str:
    """`bits` random bits as lowercase hex, the shape of `uuid4().hex` at 128 (a fifth of its CPU: no
    `os.urandom` system call; `random` is seeded from the OS at start-up and again in each forked worker)."""
    return f"{random.getrandbits(bits):0{bits // 4}x}"


def new_completion_id() -> str:
    return f"chatcmpl-{hex_id()}"


def tool_call_json(ev: ToolCallDelta) -> dict[str, Any]:
    call: dict[str, Any] = {"index": ev.index}
    if ev.id is not None:
        call["id"] = ev.id
    if ev.type is not None:
        call["type"] = ev.type
    fn: dict[str, str] = {}
    if ev.name is not None:
        fn["name"] = ev.name
    if ev.arguments is not None:
        fn["arguments"] = ev.arguments
    if fn:
        call["function"] = fn
    return call


def audio_json(ev: AudioDelta) -> dict[str, Any]:
    audio: dict[str, Any] = {"id": ev.id}
    if ev.transcript is not None:
        audio["transcript"] = ev.transcript
    if ev.data is not None:
        audio["data"] = ev.data
    if ev.words is not None:
        audio["words"] = [
            {"text": w.text, "start_ts": w.start_ms, "end_ts": w.end_ms, "duration": w.end_ms - w.start_ms}
            for w in ev.words
        ]
    return audio


class ChunkEncoder:
    """Encodes one stream's events. The first delta carries `role: "assistant"`."""

    __slots__ = ("_head", "_role_sent", "_tail_null", "created", "id", "model")

    def __init__(self, model: str, completion_id: str | None = None, created: int | None = None) -> None:
        self.id = completion_id or new_completion_id()
        self.created = created if created is not None else int(time.time())
        self.model = model
        head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": model}
        self._head = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[{"index":0,"delta":'
        self._tail_null = b',"finish_reason":null}]}\n\n'
        self._role_sent = False

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        if not self._role_sent:
            delta = {"role": "assistant", **delta}
            self._role_sent = True
        tail = self._tail_null if finish is None else b',"finish_reason":"' + finish.encode() + b'"}]}\n\n'
        return self._head + orjson.dumps(delta) + tail

    def role(self) -> bytes:
        """The opening chunk: the role and empty content, as OpenAI sends it."""
        return self._delta({"content": ""})

    def text(self, ev: TextDelta) -> bytes:
        return self._delta({"content": ev.text})

    def tool_call(self, ev: ToolCallDelta) -> bytes:
        return self._delta({"tool_calls": [tool_call_json(ev)]})

    def audio(self, ev: AudioDelta) -> bytes:
        return self._delta({"audio": audio_json(ev)})

    def finish(self, ev: Finish) -> bytes:
        return self._delta({}, ev.reason)

    def usage(self, ev: Usage) -> bytes:
        return self._envelope(
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": ev.prompt_tokens,
                    "completion_tokens": ev.completion_tokens,
                    "total_tokens": ev.total_tokens,
                },
            }
        )

    def sources(self, ev: Sources) -> bytes:
        """A `choices: []` chunk with our own `x_convoai.sources` field (clients ignore unknown fields)."""
        return self._envelope({"choices": [], "x_convoai": {"sources": list(ev.items)}})

    def metadata(self, ev: Metadata) -> bytes:
        body = {"id": self.id, "object": "chat.completion.custom_metadata", "created": self.created,
                "model": self.model, "choices": [], "metadata": ev.metadata}  # fmt: skip
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def _envelope(self, extra: dict[str, Any]) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        body.update(extra)
        return b"data: " + orjson.dumps(body) + b"\n\n"


def error_chunk(envelope: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(envelope) + b"\n\n"


def server_error_chunk(message: str = "The stream failed.") -> bytes:
    return error_chunk(error_envelope(message, "server_error"))
