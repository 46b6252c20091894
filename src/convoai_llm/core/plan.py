"""A planned reply: what `Pipeline.prepare` returns once everything that can fail with a status has run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from convoai_llm.core.deadline import DeadlineWatch
from convoai_llm.events import Event, Metadata
from convoai_llm.providers.base import aclose_quietly
from convoai_llm.schemas.request import ChatRequest

Kind = Literal["chat", "rag", "audio"]
"""The three request kinds the pipeline knows: plain chat, chat grounded in the knowledge base, speech."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the bearer token (forwarded upstream only when the settings allow) and a request id."""

    token: str | None = None
    request_id: str = ""


@dataclass(slots=True)
class Plan:
    request: ChatRequest
    model: str
    """The model named in the response (the one that answers, or `repeat`, `speak`, `clip:NAME`)."""
    events: AsyncIterator[Event]
    """The stream after `Started`: deltas, sources, usage, finish."""
    metadata: Metadata | None = None
    """The engine's custom_metadata chunk, sent before the role chunk."""
    source: str = "model"
    """What answers: `model`, `repeat`, `speak` or `clip` (for the log line)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers the plan asks for (e.g. tools ignored by the local model)."""

    deadline: DeadlineWatch | None = None
    """The request's deadline timer (`core/deadline.py`): whoever iterates `events` checks it between events
    and turns its cancellation into `DeadlineExceeded` (the SSE pump inline, `collect` through `bounded`)."""

    async def aclose(self) -> None:
        try:
            await aclose_quietly(self.events)
        finally:
            if self.deadline is not None:
                self.deadline.close()


async def replay(*events: Event) -> AsyncIterator[Event]:
    """A stream of known events (a repeated or recorded reply)."""
    for ev in events:
        yield ev
