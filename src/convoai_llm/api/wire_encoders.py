"""The Responses API and legacy completions as `Encoder`s for the route table.

The wire work is in `sse/responses.py` and `sse/completions.py` (pure: events in, bytes out); these
adapters give them the `Encoder` protocol of `api/encoding.py`. A non-streaming answer replays the
folded stream (`Aggregate`) through the same encoder, so both answers are one state machine.
"""

from __future__ import annotations

from typing import Any, cast

from convoai_llm.core.plan import Plan
from convoai_llm.errors import ConvoError
from convoai_llm.events import Event, Finish, FinishReason, Sources, TextDelta, ToolCallDelta
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import Aggregate
from convoai_llm.schemas.responses import ResponsesChat
from convoai_llm.sse.completions import CompletionEncoder
from convoai_llm.sse.responses import ResponsesEncoder


def replay(agg: Aggregate) -> list[Event]:
    """A folded stream as events again: text, the tool calls, finish, usage, sources."""
    events: list[Event] = [TextDelta(agg.text)] if agg.text else []
    for i, call in enumerate(agg.tool_calls):
        fn = call.get("function", {})
        events.append(ToolCallDelta(i, call.get("id"), "function", fn.get("name"), fn.get("arguments")))
    events.append(Finish(cast(FinishReason, agg.finish)))
    if agg.usage is not None:
        events.append(agg.usage)
    if agg.sources is not None:
        events.append(Sources(agg.sources))
    return events


class ResponsesWire:
    """OpenAI's Responses API: `response.*` events (no `[DONE]`), or one `response` object."""

    __slots__ = ("_enc",)

    def __init__(self, model: str, request: ChatRequest) -> None:
        self._enc = ResponsesEncoder(model, request.echo if isinstance(request, ResponsesChat) else {})

    @property
    def id(self) -> str:
        return self._enc.id

    def head(self, plan: Plan) -> bytes:
        return self._enc.open()  # the engine's metadata chunk has no place in this format

    def event(self, ev: Event) -> bytes:
        return self._enc.encode(ev)

    def end(self) -> bytes:
        return self._enc.close()

    def error(self, exc: ConvoError) -> bytes:
        return self._enc.fail(exc.envelope())

    def done(self) -> bytes:
        return b""

    def body(self, agg: Aggregate) -> dict[str, Any]:
        for ev in replay(agg):
            self._enc.encode(ev)
        return self._enc.body()


class CompletionsWire:
    """Legacy completions: `text_completion` chunks then `[DONE]`, or one `text_completion`."""

    __slots__ = ("_enc",)

    def __init__(self, model: str, request: ChatRequest) -> None:
        self._enc = CompletionEncoder(model, include_usage=request.include_usage)

    @property
    def id(self) -> str:
        return self._enc.id

    def head(self, plan: Plan) -> bytes:
        return self._enc.open()

    def event(self, ev: Event) -> bytes:
        return self._enc.encode(ev)

    def end(self) -> bytes:
        return self._enc.end()

    def error(self, exc: ConvoError) -> bytes:
        return self._enc.error(exc.envelope())

    def done(self) -> bytes:
        return self._enc.done()

    def body(self, agg: Aggregate) -> dict[str, Any]:
        for ev in replay(agg):
            self._enc.encode(ev)
        return self._enc.body()
