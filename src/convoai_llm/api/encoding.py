"""Encoders: a plan's events → one wire format. The stream pump and the JSON answer only talk to this.

`Encoder` is the protocol; `ChatEncoder` is OpenAI's Chat Completions (SSE chunks built by
`sse/encoder.py`, or one `chat.completion` body). A second wire format is a new encoder plus a
`RouteSpec` line, never edits across the streaming code.
"""

from __future__ import annotations

from typing import Any, Protocol

from convoai_llm.core.plan import Plan
from convoai_llm.errors import ConvoError
from convoai_llm.events import AudioDelta, Event, Finish, Sources, TextDelta, ToolCallDelta, Usage
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.schemas.response import Aggregate, completion_body
from convoai_llm.sse.encoder import DONE, ChunkEncoder, error_chunk


class Encoder(Protocol):
    @property
    def id(self) -> str: ...

    def head(self, plan: Plan) -> bytes:
        """What goes before the first event (metadata, role)."""
        ...

    def event(self, ev: Event) -> bytes:
        """One event's bytes (b"" when it sends nothing now)."""
        ...

    def end(self) -> bytes:
        """After the last event (e.g. the usage chunk)."""
        ...

    def error(self, exc: ConvoError) -> bytes:
        """An error after the first byte, inside the stream."""
        ...

    def done(self) -> bytes:
        """The very last bytes of the stream."""
        ...

    def body(self, agg: Aggregate) -> dict[str, Any]:
        """The non-streaming answer."""
        ...


class EncoderFactory(Protocol):
    def __call__(self, model: str, request: ChatRequest) -> Encoder: ...


class ChatEncoder:
    """OpenAI Chat Completions: `chat.completion.chunk`s then `[DONE]`, or one `chat.completion`."""

    __slots__ = ("_chunks", "_include_usage", "_usage")

    def __init__(self, model: str, request: ChatRequest) -> None:
        self._chunks = ChunkEncoder(model)
        self._include_usage = request.include_usage
        self._usage: Usage | None = None

    @property
    def id(self) -> str:
        return self._chunks.id

    def head(self, plan: Plan) -> bytes:
        role = self._chunks.role()
        return role if plan.metadata is None else self._chunks.metadata(plan.metadata) + role

    def event(self, ev: Event) -> bytes:
        enc = self._chunks
        if isinstance(ev, TextDelta):
            return enc.text(ev)
        if isinstance(ev, AudioDelta):
            return enc.audio(ev)
        if isinstance(ev, ToolCallDelta):
            return enc.tool_call(ev)
        if isinstance(ev, Finish):
            return enc.finish(ev)
        if isinstance(ev, Usage):
            self._usage = ev  # always the last chunk before [DONE]
        elif isinstance(ev, Sources):
            return enc.sources(ev)
        return b""  # Started, and Metadata mid-stream (only valid first: sent by `head`)

    def end(self) -> bytes:
        if self._usage is not None and self._include_usage:
            return self._chunks.usage(self._usage)
        return b""

    def error(self, exc: ConvoError) -> bytes:
        return error_chunk(exc.envelope())

    def done(self) -> bytes:
        return DONE

    def body(self, agg: Aggregate) -> dict[str, Any]:
        return completion_body(self._chunks.id, self._chunks.model, agg, self._chunks.created)
