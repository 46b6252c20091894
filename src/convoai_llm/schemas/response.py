"""Non-streaming response bodies: a whole stream folded into one completion, and the model list."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from convoai_llm.events import AudioDelta, Event, Finish, Sources, TextDelta, ToolCallDelta, Usage
from convoai_llm.schemas.audio_reply import AudioReply
from convoai_llm.schemas.calls import CallBuffer


@dataclass(slots=True)
class Aggregate:
    """A whole stream folded into one non-streaming completion (linear in the stream's length)."""

    parts: list[str] = field(default_factory=list)
    calls: CallBuffer = field(default_factory=CallBuffer)
    finish: str = "stop"
    usage: Usage | None = None
    sources: tuple[dict[str, Any], ...] | None = None
    audio: AudioReply = field(default_factory=AudioReply)
    """The audio route's deltas, for `message.audio` (issue 14.2)."""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [call.message_entry() for call in self.calls.calls("call")]

    def add(self, ev: Event) -> None:
        if isinstance(ev, TextDelta):
            self.parts.append(ev.text)
        elif isinstance(ev, ToolCallDelta):
            self.calls.add(ev)
        elif isinstance(ev, Finish):
            self.finish = ev.reason
        elif isinstance(ev, Usage):
            self.usage = ev
        elif isinstance(ev, Sources):
            self.sources = ev.items
        elif isinstance(ev, AudioDelta):
            self.audio.add(ev)


def completion_body(completion_id: str, model: str, agg: Aggregate, created: int | None = None) -> dict[str, Any]:
    created = created if created is not None else int(time.time())
    message: dict[str, Any] = {"role": "assistant", "content": agg.text or None, "refusal": None}
    if agg.calls:
        message["tool_calls"] = agg.tool_calls
    audio = agg.audio.message_audio(expires_at=created)  # the server keeps no audio: expired at once
    if audio is not None:
        message["audio"] = audio
    usage = agg.usage
    extra: dict[str, Any] = {"x_convoai": {"sources": list(agg.sources)}} if agg.sources is not None else {}
    return {
        **extra,
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": agg.finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        },
    }


def models_body(models: list[str], owner: str = "convoai-llm") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": owner} for m in models],
    }
