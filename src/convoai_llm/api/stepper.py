"""Stepping an async iterator by hand, to tell an item that is already there from one that must be waited for.

The SSE pump writes everything a provider decoded from one upstream read in one socket write: it starts
the next step with `poll()`; when that step finished without waiting (the provider had the event
buffered), the pump adds the event's bytes to what it holds; when the step must wait, the pump writes
what it holds first and then waits for the step (`result()`). Nothing is ever held while waiting.

`poll()` runs the iterator's `__anext__` up to its first suspension, exactly as the task would;
`result()` hands that suspension to the task and goes on as `await` would (the task only ever sends
`None` or throws, so `yield from` completes the step). A step abandoned mid-wait (the consumer failed
or was cancelled while it wrote) gets a cancellation thrown in, so the iterator's `finally` blocks run
as they would have on a cancelled `await`.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterator, Generator
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


@types.coroutine
def resume(step: Generator[Any, None, T], yielded: Any) -> Generator[Any, None, T]:
    """The rest of `step`, whose first suspension yielded `yielded` (handed to the running task now)."""
    while True:
        try:
            yield yielded
        except GeneratorExit:
            step.close()
            raise
        except BaseException as exc:  # thrown in by the task while it waited (a cancellation)
            try:
                yielded = step.throw(exc)
            except StopIteration as stop:
                return cast(T, stop.value)
            continue
        return (yield from step)


class Stepper(Generic[T]):
    """One async iterator, stepped with `poll()` then `result()` (raises `StopAsyncIteration` at the end)."""

    __slots__ = ("_error", "_events", "_pending", "_value", "_yielded")

    def __init__(self, events: AsyncIterator[T]) -> None:
        self._events = events
        self._pending: Generator[Any, None, T] | None = None
        self._yielded: Any = None
        self._value: T | None = None
        self._error: BaseException | None = None

    def poll(self) -> bool:
        """Start the next step; True when its outcome (an item, the end, an error) is there already."""
        step = anext(self._events).__await__()
        try:
            self._yielded = step.send(None)
        except StopIteration as stop:
            self._value = stop.value
            return True
        except BaseException as exc:  # StopAsyncIteration, or the iterator's error: raised by result()
            self._error = exc
            return True
        self._pending = step
        return False

    async def result(self) -> T:
        """The step's item: at once after a ready `poll()`, else once the iterator has it."""
        step, self._pending = self._pending, None
        if step is not None:
            return await resume(step, self._yielded)
        error, self._error = self._error, None
        if error is not None:
            raise error
        value, self._value = self._value, None
        return cast(T, value)  # set by a ready poll()

    async def abandon(self) -> None:
        """End a step left waiting (its consumer stopped): the iterator sees a cancellation."""
        step, self._pending = self._pending, None
        if step is None:
            return
        try:
            yielded = step.throw(asyncio.CancelledError())
        except BaseException:
            return  # the iterator ended with the cancellation (or another error): nothing left to run
        try:
            await resume(step, yielded)
        except (Exception, asyncio.CancelledError):
            return
