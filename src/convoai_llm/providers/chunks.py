"""An OpenAI-compatible upstream's stream chunks → our events, and secrets kept out of upstream text."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from convoai_llm.errors import UpstreamError
from convoai_llm.events import Event, Finish, FinishReason, TextDelta, ToolCallDelta, Usage
from convoai_llm.redaction import Redactor

log = logging.getLogger("convoai_llm.upstream")
_NO_SECRETS = Redactor()
FINISH: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter",
}  # fmt: skip


def redact(text: str, *secrets: str | None) -> str:
    """Remove the given secrets and anything shaped like an API key from upstream text."""
    return _NO_SECRETS.scrub(text, *secrets)


def parse_chunk(data: str, redactor: Redactor = _NO_SECRETS) -> list[Event]:
    """One upstream chunk's JSON → events, each field of the type it must have. A malformed chunk, or one
    of an unexpected shape (`choices: 5`, `content: 7`, an `index` that is not a number), raises
    `UpstreamError`; an `error` payload raises with its text scrubbed of every secret."""
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("The upstream sent a malformed chunk.") from None
    if not isinstance(chunk, dict):
        raise UpstreamError("The upstream sent a malformed chunk.")
    if "error" in chunk:
        err = chunk["error"]
        msg = err.get("message") if isinstance(err, dict) else str(err)
        raise UpstreamError(f"The upstream failed mid-stream: {redactor.scrub(str(msg))}")
    try:
        return _events(chunk)
    except (TypeError, ValueError, AttributeError) as exc:
        log.warning("the upstream answered in an unexpected shape (%s): 502", type(exc).__name__)
        raise UpstreamError("The upstream sent a response of an unexpected shape.") from None


def _events(chunk: dict[str, Any]) -> list[Event]:
    out: list[Event] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            if not isinstance(content, str):
                raise TypeError("content")
            out.append(TextDelta(content))
        for call in delta.get("tool_calls") or ():
            fn = call.get("function") or {}
            out.append(tool_call(int(call.get("index", 0)), call, fn))
        reason = choice.get("finish_reason")
        if reason:
            out.append(Finish(FINISH.get(reason, "stop")))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.append(Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
    return out


def tool_call(index: int, call: dict[str, Any], fn: dict[str, Any]) -> ToolCallDelta:
    """A tool-call delta whose text fields are text (or absent); `TypeError` otherwise."""
    fields = (call.get("id"), call.get("type"), fn.get("name"), fn.get("arguments"))
    if not all(v is None or isinstance(v, str) for v in fields):
        raise TypeError("tool_calls")
    return ToolCallDelta(index, *fields)
