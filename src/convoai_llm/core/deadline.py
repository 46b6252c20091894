"""Deadline: the total time a request may take, from planning to its last event.

`Pipeline.prepare` runs under it (past it: `DeadlineExceeded`, 504), and the plan's events are
bounded by what is left: past it, the stream ends with an in-stream `request_deadline` error and the
provider stream is closed (so the upstream connection is released). `CONVOAI_REQUEST_DEADLINE_S`
(0: none).

One timer per request (`Deadline.watch()`), armed when planning starts: a timeout context for planning and
another per event were ~15% of a paced stream's CPU. When the timer fires while the request's task waits
(for planning, or for the next event), that wait is cancelled and turned into `DeadlineExceeded`; when it
fires while the task works, the next `check()` raises it. The SSE pump watches the plan's events itself
(`check`, `waiting`, `absorb`): no generator layer between the provider and the pump; `bounded` gives the
same for any other consumer.
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

    def watch(self) -> DeadlineWatch:
        """The request's one timer, for the current task (none is armed without a deadline)."""
        return DeadlineWatch(self)

    async def run(self, work: Awaitable[T]) -> T:
        """`work`, cancelled at the deadline (its own timer; `DeadlineWatch.run` shares the request's)."""
        watch = self.watch()
        try:
            return await watch.run(work)
        finally:
            watch.close()

    async def bounded(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """`events` until the deadline (its own timer; `DeadlineWatch.bounded` shares the request's)."""
        watch = self.watch()
        try:
            async for ev in watch.bounded(events):
                yield ev
        finally:
            watch.close()


class DeadlineWatch:
    """One request's deadline timer: expired yet, and the task waiting on the request's behalf (if any)."""

    __slots__ = ("deadline", "expired", "handle", "task", "waiting")

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.task = asyncio.current_task()
        self.expired = False
        self.waiting: asyncio.Task[object] | None = None
        at = deadline.at
        self.handle = asyncio.get_running_loop().call_at(at, self._expire) if at is not None else None

    def _expire(self) -> None:
        self.expired = True
        self.handle = None
        if self.waiting is not None:
            self.waiting.cancel()

    def check(self) -> None:
        """Between steps: past the deadline, `DeadlineExceeded`."""
        if self.expired:
            raise self.deadline.error()

    def absorb(self) -> None:
        """In a wait's `except CancelledError`: the deadline's own cancellation becomes `DeadlineExceeded`;
        any other (a hang-up, shutdown) stays a cancellation (the caller re-raises it)."""
        if self.expired and self.task is not None and self.task.uncancel() == 0:
            raise self.deadline.error() from None

    async def run(self, work: Awaitable[T]) -> T:
        """`work`, cancelled at the deadline (planning)."""
        self.check()
        self.waiting = self.task
        try:
            return await work
        except asyncio.CancelledError:
            self.absorb()
            raise
        finally:
            self.waiting = None

    async def bounded(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """`events` until the deadline; the inner stream is closed however this one ends. One task
        iterates it (`collect`); the SSE pump does the same steps inline."""
        try:
            while True:
                self.check()
                self.waiting = self.task
                try:
                    ev = await anext(events)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    self.absorb()
                    raise
                finally:
                    self.waiting = None
                yield ev
        finally:
            await aclose_quietly(events)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
