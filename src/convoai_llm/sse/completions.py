"""Events → legacy Completions (`text_completion`) chunks and the non-streaming body.

The stream: `data: {"object": "text_completion", "choices": [{"text", "index": 0, "logprobs": null,
"finish_reason": null}]}` per text delta, one chunk with the `finish_reason`, the usage chunk
(`choices: []`) when `stream_options.include_usage` is set, then `data: [DONE]`. One `cmpl-…` id and
`created` per stream. A tool call has no place in a text completion (none is asked for): its finish
becomes `stop`. Errors after the first byte travel as on the chat routes: `data: {"error": {...}}`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from convoai_llm.events import Finish, TextDelta, Usage

DONE = b"data: [DONE]\n\n"


def completion_finish(reason: str) -> str:
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def usage_json(ev: Usage | None) -> dict[str, int]:
    if ev is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {"prompt_tokens": ev.prompt_tokens, "completion_tokens": ev.completion_tokens,
            "total_tokens": ev.total_tokens}  # fmt: skip


class CompletionEncoder:
    __slots__ = ("_head", "created", "id", "model")

    def __init__(self, model: str, completion_id: str | None = None, created: int | None = None) -> None:
        self.id = completion_id or f"cmpl-{uuid.uuid4().hex}"
        self.created = created if created is not None else int(time.time())
        self.model = model
        head = {"id": self.id, "object": "text_completion", "created": self.created, "model": model}
        self._head = b"data: " + orjson.dumps(head)[:-1]

    def _choice(self, text: str, finish: str | None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return self._head + b',"choices":[' + orjson.dumps(choice) + b"]}\n\n"

    def text(self, ev: TextDelta) -> bytes:
        return self._choice(ev.text, None)

    def finish(self, ev: Finish) -> bytes:
        return self._choice("", completion_finish(ev.reason))

    def usage(self, ev: Usage) -> bytes:
        return self._head + b',"choices":[],"usage":' + orjson.dumps(usage_json(ev)) + b"}\n\n"

    def body(self, text: str, finish: str, usage: Usage | None) -> dict[str, Any]:
        """The non-streaming answer."""
        return {
            "id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": completion_finish(finish)}],
            "usage": usage_json(usage),
        }  # fmt: skip
