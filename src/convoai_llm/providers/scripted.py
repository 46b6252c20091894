"""A scripted provider for tests: enqueue what the next request answers, read back what it was asked."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import ClassVar

from convoai_llm.errors import ConvoError
from convoai_llm.events import Event, Finish, Started, TextDelta
from convoai_llm.lifecycle import Idle
from convoai_llm.providers.base import ProviderRequest


@dataclass(frozen=True, slots=True)
class Sleep:
    """Pause the script (a slow upstream)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Fail:
    """Raise an error at this point of the script (before `Started`: a status; after: in-stream)."""

    error: ConvoError


Step = Event | Sleep | Fail


class ScriptedProvider(Idle):
    name: ClassVar[str] = "scripted"

    def __init__(self, model: str = "scripted") -> None:
        self.model = model
        self.scripts: deque[list[Step]] = deque()
        self.history: list[ProviderRequest] = []
        self.closed = 0
        """How many streams were closed (finished, failed or cancelled)."""

    def enqueue(self, steps: Iterable[Step]) -> None:
        self.scripts.append(list(steps))

    def enqueue_text(self, *pieces: str, delay: float = 0.0) -> None:
        steps: list[Step] = [Started(self.model)]
        for piece in pieces:
            if delay:
                steps.append(Sleep(delay))
            steps.append(TextDelta(piece))
        steps.append(Finish("stop"))
        self.enqueue(steps)

    def models(self) -> list[str]:
        return [self.model]

    def validate(self, request: ProviderRequest) -> None:
        return None

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        self.history.append(request)
        script = self.scripts.popleft() if self.scripts else [Started(self.model), TextDelta("ok"), Finish("stop")]
        try:
            for step in script:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Fail):
                    raise step.error
                else:
                    yield step  # type: ignore[misc]
        finally:
            self.closed += 1
