"""An OpenAI-compatible upstream's stream chunks → our events, and secrets kept out of upstream text."""

from __future__ import annotations

import orjson

from convoai_llm.errors import UpstreamError
from convoai_llm.events import Event, Finish, FinishReason, TextDelta, ToolCallDelta, Usage
from convoai_llm.redaction import Redactor

_NO_SECRETS = Redactor()
FINISH: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter",
}  # fmt: skip


def redact(text: str, *secrets: str | None) -> str:
    """Remove the given secrets and anything shaped like an API key from upstream text."""
    return _NO_SECRETS.scrub(text, *secrets)


def parse_chunk(data: str, redactor: Redactor = _NO_SECRETS) -> list[Event]:
    """One upstream chunk's JSON → events. An `error` payload raises, its text scrubbed of every secret."""
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
    out: list[Event] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            out.append(TextDelta(content))
        for call in delta.get("tool_calls") or ():
            fn = call.get("function") or {}
            out.append(
                ToolCallDelta(
                    int(call.get("index", 0)),
                    call.get("id"),
                    call.get("type"),
                    fn.get("name"),
                    fn.get("arguments"),
                )
            )
        reason = choice.get("finish_reason")
        if reason:
            out.append(Finish(FINISH.get(reason, "stop")))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.append(Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
    return out
