"""Events → legacy Completions (`text_completion`) chunks and the non-streaming body.

The stream: `data: {"object": "text_completion", "choices": [{"text", "index": 0, "logprobs": null,
"finish_reason": null}]}` per text delta, one chunk with the `finish_reason`, the usage chunk
(`choices: []`) when `stream_options.include_usage` is set, then `data: [DONE]`. One `cmpl-…` id and
`created` per stream. A tool call has no place in a text completion (none is asked for): its finish
becomes `stop`. Errors after the first byte travel as on the chat routes: `data: {"error": {...}}`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from convoai_llm.events import Event, Finish, TextDelta, Usage
from convoai_llm.sse.encoder import hex_id

DONE = b"data: [DONE]\n\n"


def completion_finish(reason: str) -> str:
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def usage_json(ev: Usage | None) -> dict[str, int]:
    if ev is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {"prompt_tokens": ev.prompt_tokens, "completion_tokens": ev.completion_tokens,
            "total_tokens": ev.total_tokens}  # fmt: skip


class CompletionEncoder:
    """One completion: feed it events; it returns the bytes to send (or, fed without sending, the body)."""

    __slots__ = ("_finish", "_head", "_text", "_usage", "created", "id", "include_usage", "model")

    def __init__(self, model: str, *, include_usage: bool = False, completion_id: str | None = None,
                 created: int | None = None) -> None:  # fmt: skip
        self.id = completion_id or f"cmpl-{hex_id()}"
        self.created = created if created is not None else int(time.time())
        self.model = model
        self.include_usage = include_usage
        head = {"id": self.id, "object": "text_completion", "created": self.created, "model": model}
        self._head = b"data: " + orjson.dumps(head)[:-1]
        self._text: list[str] = []
        self._finish = "stop"
        self._usage: Usage | None = None

    def _choice(self, text: str, finish: str | None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return self._head + b',"choices":[' + orjson.dumps(choice) + b"]}\n\n"

    def open(self) -> bytes:
        return b""

    def encode(self, ev: Event) -> bytes:
        if isinstance(ev, TextDelta):
            self._text.append(ev.text)
            return self._choice(ev.text, None) if ev.text else b""
        if isinstance(ev, Finish):
            self._finish = completion_finish(ev.reason)
            return self._choice("", self._finish)
        if isinstance(ev, Usage):
            self._usage = ev
        return b""

    def end(self) -> bytes:
        """The usage chunk when asked for (always the last before `[DONE]`)."""
        if self.include_usage and self._usage is not None:
            return self._head + b',"choices":[],"usage":' + orjson.dumps(usage_json(self._usage)) + b"}\n\n"
        return b""

    def error(self, envelope: Mapping[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(envelope) + b"\n\n"

    def done(self) -> bytes:
        return DONE

    def body(self) -> dict[str, Any]:
        """The non-streaming answer, once every event has been fed to `encode`."""
        choice = {"text": "".join(self._text), "index": 0, "logprobs": None, "finish_reason": self._finish}
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": [choice], "usage": usage_json(self._usage)}  # fmt: skip
