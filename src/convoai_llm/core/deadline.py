"""Deadline: the total time a request may take, from planning to its last event.

`Pipeline.prepare` runs under it (past it: `DeadlineExceeded`, 504), and the plan's events are
bounded by what is left: past it, the stream ends with an in-stream `request_deadline` error and the
provider stream is closed (so the upstream connection is released). `CONVOAI_REQUEST_DEADLINE_S`
(0: none).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

from convoai_llm.errors import DeadlineExceeded
from convoai_llm.events import Event
from convoai_llm.providers.base import aclose_quietly

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deadline:
    seconds: float
    at: float | None
    """Event-loop time at which the request ends; None: no deadline."""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, asyncio.get_running_loop().time() + seconds if seconds > 0 else None)

    def error(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"The request did not finish within {self.seconds:g} s.")

    async def run(self, work: Awaitable[T]) -> T:
        """`work`, cancelled at the deadline."""
        cm = asyncio.timeout_at(self.at)
        try:
            async with cm:
                return await work
        except TimeoutError:
            if not cm.expired():
                raise
            raise self.error() from None

    async def bounded(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """`events` until the deadline; the inner stream is closed however this one ends.

        One timer for the whole stream (a timeout context per event was ~15% of the per-chunk CPU):
        when it fires while the consumer waits for the next event, that wait is cancelled and turned into
        `DeadlineExceeded`; when it fires between events, the next step raises it. One task iterates it
        (the stream pump, or `collect`)."""
        watch = _Watch(asyncio.current_task())
        handle = asyncio.get_running_loop().call_at(self.at, watch.expire) if self.at is not None else None
        try:
            while True:
                if watch.expired:
                    raise self.error()
                watch.waiting = watch.task
                try:
                    ev = await anext(events)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if watch.expired and watch.waiting is not None and watch.waiting.uncancel() == 0:
                        raise self.error() from None
                    raise
                finally:
                    watch.waiting = None
                yield ev
        finally:
            if handle is not None:
                handle.cancel()
            await aclose_quietly(events)


class _Watch:
    """A stream's deadline state: expired yet, and the task waiting for the next event (if any)."""

    __slots__ = ("expired", "task", "waiting")

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self.task = task
        self.expired = False
        self.waiting: asyncio.Task[object] | None = None

    def expire(self) -> None:
        self.expired = True
        if self.waiting is not None:
            self.waiting.cancel()
