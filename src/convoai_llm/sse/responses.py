"""Events → the Responses API's event stream (`event: <type>` + `data: <json>`), and the Response object.

One stream, in OpenAI's order:
    response.created, response.in_progress
    per assistant text:  response.output_item.added (message) → response.content_part.added →
                         response.output_text.delta … → response.output_text.done →
                         response.content_part.done → response.output_item.done
    per tool call:       response.output_item.added (function_call) →
                         response.function_call_arguments.delta … → …arguments.done → response.output_item.done
    response.completed (finish stop / tool_calls), or response.incomplete (length, content_filter)
An error after the first byte ends the stream with an `error` event and `response.failed`.
Every event carries a `sequence_number` from 0. Text that follows a tool call opens a new message
item. The non-streaming answer is the same state machine fed the same events: `response()` is the
Response object the last event would carry. Audio and the engine's metadata have no place here and
are dropped; RAG sources go into the Response object as our own `x_convoai.sources`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

import orjson

from convoai_llm.events import Event, Finish, Sources, TextDelta, ToolCallDelta, Usage
from convoai_llm.sse.encoder import hex_id

Status = Literal["in_progress", "completed", "incomplete", "failed"]
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
FAILED_CODES = frozenset({"server_error", "rate_limit_exceeded"})
"""The codes a failed Response may carry (OpenAI's `ResponseErrorCode`, the ones that apply here)."""


def new_response_id() -> str:
    return f"resp_{hex_id()}"


class ResponsesEncoder:
    """One response: feed it events; it returns the bytes to send and keeps the Response object."""

    def __init__(self, model: str, echo: Mapping[str, Any], response_id: str | None = None,
                 created_at: int | None = None) -> None:  # fmt: skip
        self.id = response_id or new_response_id()
        self.model = model
        self.created_at = created_at if created_at is not None else int(time.time())
        self._echo = dict(echo)
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._message: dict[str, Any] | None = None
        self._pieces: list[str] = []
        self._delta_head = b""
        self._calls: dict[int, dict[str, Any]] = {}
        self._usage: Usage | None = None
        self._finish = "stop"
        self._sources: tuple[dict[str, Any], ...] | None = None
        self._status: Status = "in_progress"
        self._error: dict[str, str] | None = None

    # --- the stream

    def open(self) -> bytes:
        snapshot = self.response()
        return self._event("response.created", response=snapshot) + self._event("response.in_progress",
                                                                                   response=snapshot)  # fmt: skip

    def encode(self, ev: Event) -> bytes:
        if isinstance(ev, TextDelta):
            return self._text(ev.text) if ev.text else b""
        if isinstance(ev, ToolCallDelta):
            return self._tool_call(ev)
        if isinstance(ev, Finish):
            self._finish = ev.reason
        elif isinstance(ev, Usage):
            self._usage = ev
        elif isinstance(ev, Sources):
            self._sources = ev.items
        return b""

    def close(self) -> bytes:
        """The normal end: open items done, then `response.completed` (or `response.incomplete`)."""
        reason = INCOMPLETE.get(self._finish)
        self._status = "incomplete" if reason else "completed"
        out = self._close_items()
        name = "response.incomplete" if reason else "response.completed"
        return out + self._event(name, response=self.response())

    def fail(self, envelope: Mapping[str, Any]) -> bytes:
        """An error after the first byte: an `error` event, then `response.failed`."""
        err = envelope.get("error", {})
        message = str(err.get("message") or "The stream failed.")
        code = err.get("code") if err.get("code") in FAILED_CODES else "server_error"
        self._status = "failed"
        self._error = {"code": str(code), "message": message}
        self._sync_message()
        for item in self._open_items():
            item["status"] = "incomplete"
        self._message, self._calls = None, {}
        out = self._event("error", code=err.get("code"), message=message, param=err.get("param"))
        return out + self._event("response.failed", response=self.response())

    # --- the Response object

    def response(self) -> dict[str, Any]:
        self._sync_message()
        reason = INCOMPLETE.get(self._finish) if self._status == "incomplete" else None
        body: dict[str, Any] = {
            "id": self.id, "object": "response", "created_at": self.created_at, "status": self._status,
            "completed_at": int(time.time()) if self._status == "completed" else None,
            "error": self._error, "incomplete_details": {"reason": reason} if reason else None,
            "model": self.model, "output": [dict(item) for item in self._output],
            "usage": self._usage_json(), "store": False, "previous_response_id": None, "reasoning": None,
            "truncation": "disabled", **self._echo,
        }  # fmt: skip
        for optional in ("usage", "user"):  # absent rather than null, as the spec has them
            if body[optional] is None:
                del body[optional]
        if self._sources is not None:
            body["x_convoai"] = {"sources": list(self._sources)}
        return body

    def body(self) -> dict[str, Any]:
        """The non-streaming answer, once every event has been fed to `encode`."""
        self.close()
        return self.response()

    # --- items

    def _text(self, text: str) -> bytes:
        out = b""
        if self._message is None:
            item_id = f"msg_{hex_id()}"
            self._message = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant",
                             "content": []}  # fmt: skip
            index = self._add_item(self._message)
            out += self._event("response.output_item.added", output_index=index, item=self._message)
            out += self._event("response.content_part.added", item_id=item_id, output_index=index,
                               content_index=0, part=_text_part(""))  # fmt: skip
            self._message["content"] = [_text_part("")]
            self._pieces = []
            head = {"type": "response.output_text.delta", "item_id": item_id, "output_index": index, "content_index": 0}
            self._delta_head = b"event: response.output_text.delta\ndata: " + orjson.dumps(head)[:-1] + b',"delta":'
        self._pieces.append(text)
        seq = self._seq
        self._seq += 1
        return out + self._delta_head + orjson.dumps(text) + b',"logprobs":[],"sequence_number":%d}\n\n' % seq

    def _sync_message(self) -> None:
        """The open message's text, joined from its deltas (kept as pieces: no quadratic concatenation)."""
        if self._message is not None:
            self._message["content"][0]["text"] = "".join(self._pieces)

    def _tool_call(self, ev: ToolCallDelta) -> bytes:
        out = self._close_message()
        call = self._calls.get(ev.index)
        if call is None:
            call_id = ev.id or f"call_{hex_id(96)}"
            call = {"id": f"fc_{hex_id()}", "type": "function_call", "status": "in_progress",
                    "call_id": call_id, "name": ev.name or "", "arguments": ""}  # fmt: skip
            self._calls[ev.index] = call
            out += self._event("response.output_item.added", output_index=self._add_item(call), item=dict(call))
        elif ev.name:
            call["name"] += ev.name
        if ev.arguments:
            call["arguments"] += ev.arguments
            out += self._event("response.function_call_arguments.delta", item_id=call["id"],
                               output_index=self._index(call), delta=ev.arguments)  # fmt: skip
        return out

    def _close_items(self) -> bytes:
        out = self._close_message()
        for call in self._calls.values():
            call["status"] = "completed"
            index = self._index(call)
            out += self._event("response.function_call_arguments.done", item_id=call["id"], name=call["name"],
                               output_index=index, arguments=call["arguments"])  # fmt: skip
            out += self._event("response.output_item.done", output_index=index, item=dict(call))
        self._calls = {}
        return out

    def _close_message(self) -> bytes:
        self._sync_message()
        message, self._message = self._message, None
        if message is None:
            return b""
        message["status"] = "incomplete" if self._status == "incomplete" else "completed"
        index, part = self._index(message), message["content"][0]
        out = self._event("response.output_text.done", item_id=message["id"], output_index=index,
                          content_index=0, text=part["text"], logprobs=[])  # fmt: skip
        out += self._event("response.content_part.done", item_id=message["id"], output_index=index,
                           content_index=0, part=dict(part))  # fmt: skip
        return out + self._event("response.output_item.done", output_index=index, item=_copy(message))

    def _open_items(self) -> list[dict[str, Any]]:
        return ([self._message] if self._message else []) + list(self._calls.values())

    def _add_item(self, item: dict[str, Any]) -> int:
        self._output.append(item)
        return len(self._output) - 1

    def _index(self, item: dict[str, Any]) -> int:
        return next(i for i, it in enumerate(self._output) if it is item)

    def _usage_json(self) -> dict[str, Any] | None:
        u = self._usage
        if u is None:
            return None
        return {"input_tokens": u.prompt_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": u.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": u.total_tokens}  # fmt: skip

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": self._seq}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "content": [dict(p) for p in message["content"]]}
