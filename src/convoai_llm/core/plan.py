"""A planned reply: what `Pipeline.prepare` returns once everything that can fail with a status has run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from convoai_llm.core.deadline import Deadline
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

    inner: AsyncIterator[Event] | None = None
    """The events before `bound` wrapped them (closed too: a wrapper never started cannot close them)."""

    def bound(self, deadline: Deadline) -> None:
        """End the events at the request's deadline."""
        if deadline.at is not None:
            self.inner = self.events
            self.events = deadline.bounded(self.events)

    async def aclose(self) -> None:
        await aclose_quietly(self.events)
        if self.inner is not None:
            await aclose_quietly(self.inner)


async def replay(*events: Event) -> AsyncIterator[Event]:
    """A stream of known events (a repeated or recorded reply)."""
    for ev in events:
        yield ev
