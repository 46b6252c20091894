"""The upstream stall timer: one timer per stream instead of a timeout context per read.

The wait for the response head, and each read that must wait for the upstream, may wait at most
`limit_s` (the first-byte limit for the head and the first read, the chunk limit after).
`asyncio.timeout` per wait costs a `Timeout` object and a timer handle scheduled and cancelled on every
chunk of a paced stream; here a wait costs two attribute writes and a clock read, and one timer per
stream re-arms itself at the current wait's deadline (at most once per `limit_s`). When it fires while
the wait is still on, the waiting task is cancelled and `wait` turns that cancellation into
`UpstreamTimeout`. One task reads the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from convoai_llm.errors import UpstreamTimeout

T = TypeVar("T")


class StallTimer:
    __slots__ = ("_fired", "_handle", "_limit", "_loop", "_since", "_task")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._since: float | None = None
        self._limit = 0.0
        self._fired = False
        self._handle: asyncio.TimerHandle | None = None

    async def wait(self, work: Awaitable[T], limit_s: float) -> T:
        """`work`, or `UpstreamTimeout` when it takes longer than `limit_s`."""
        self.arm(limit_s)
        try:
            return await work
        except asyncio.CancelledError:
            self.absorb(limit_s)
            raise
        finally:
            self.disarm()

    def arm(self, limit_s: float) -> None:
        """A wait of at most `limit_s` starts now (inline form of `wait`, for the per-chunk read)."""
        now = self._loop.time()
        self._since, self._limit = now, limit_s
        due = now + limit_s
        if self._handle is None or due < self._handle.when():  # a shorter limit than the armed one
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_at(due, self._check)

    def absorb(self, limit_s: float) -> None:
        """In the wait's `except CancelledError`: this timer's cancellation becomes `UpstreamTimeout`; any
        other stays a cancellation (the caller re-raises it)."""
        if self._fired and self._task is not None and self._task.uncancel() == 0:
            self._fired = False
            raise UpstreamTimeout(f"The upstream stream stalled for {limit_s:g} s.") from None

    def disarm(self) -> None:
        self._since = None

    def _check(self) -> None:
        now = self._loop.time()
        if self._since is None:  # no wait on: look again one limit from now (a later wait ends no sooner)
            self._handle = self._loop.call_at(now + self._limit, self._check)
            return
        due = self._since + self._limit
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        self._handle = None
        if self._task is not None:
            self._fired = True
            self._task.cancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
