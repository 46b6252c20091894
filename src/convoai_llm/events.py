"""Internal pipeline events: small frozen dataclasses. Wire JSON lives only in `schemas/` and `sse/`.

A provider yields `Started` once its upstream has accepted the request (everything that can fail
with a status code has been checked), then any number of deltas, then at most one `Usage` and one
`Finish`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True, slots=True)
class Started:
    """The provider accepted the request; `model` is the model that actually answers."""

    model: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """One streamed piece of a tool call, passed through as the upstream sent it."""

    index: int
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(frozen=True, slots=True)
class AudioWord:
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """`delta.audio` on the wire: a transcript piece, or base64 PCM16 16 kHz mono data."""

    id: str
    transcript: str | None = None
    data: str | None = None
    words: tuple[AudioWord, ...] | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


@dataclass(frozen=True, slots=True)
class Metadata:
    """The engine's `chat.completion.custom_metadata` chunk; only valid as the first chunk."""

    metadata: dict[str, object]


@dataclass(frozen=True, slots=True)
class Sources:
    """The knowledge-base passages a RAG answer was given (sent only when asked for)."""

    items: tuple[dict[str, Any], ...]


Event = Started | TextDelta | ToolCallDelta | AudioDelta | Usage | Finish | Metadata | Sources
