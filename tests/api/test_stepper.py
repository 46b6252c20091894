"""`Stepper`: ready items are told apart from waits, and a wait behaves as `await` would (results,
errors, cancellation, the iterator's `finally`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from convoai_llm.api.stepper import Stepper


class Source:
    """Yields `ready` items without waiting, then one after `wait_s`, then ends (or raises `error`)."""

    def __init__(self, ready: int, wait_s: float = 0.0, error: Exception | None = None) -> None:
        self.ready, self.wait_s, self.error = ready, wait_s, error
        self.closed_by: str | None = None

    async def items(self) -> AsyncIterator[int]:
        try:
            for i in range(self.ready):
                yield i
            await asyncio.sleep(self.wait_s)
            yield self.ready
            if self.error is not None:
                raise self.error
        except asyncio.CancelledError:
            self.closed_by = "cancelled"
            raise
        finally:
            self.closed_by = self.closed_by or "finished"
            await asyncio.sleep(0)  # a finally that awaits, as the provider's does


async def drain(steps: Stepper[int]) -> list[tuple[int, bool]]:
    out: list[tuple[int, bool]] = []
    while True:
        ready = steps.poll()
        try:
            out.append((await steps.result(), ready))
        except StopAsyncIteration:
            return out


async def test_buffered_items_are_ready_and_a_wait_is_not() -> None:
    src = Source(ready=3, wait_s=0.01)
    assert await drain(Stepper(src.items())) == [(0, True), (1, True), (2, True), (3, False)]
    assert src.closed_by == "finished"


async def test_an_error_after_a_wait_is_raised_by_result() -> None:
    steps = Stepper(Source(ready=0, wait_s=0.0, error=ValueError("upstream broke")).items())
    assert steps.poll() is False
    assert await steps.result() == 0
    steps.poll()
    with pytest.raises(ValueError, match="upstream broke"):
        await steps.result()


async def test_cancelling_the_consumer_mid_wait_reaches_the_iterator() -> None:
    src = Source(ready=0, wait_s=10)
    steps = Stepper(src.items())

    async def consume() -> int:
        assert steps.poll() is False
        return await steps.result()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert src.closed_by == "cancelled"


async def test_abandoning_a_waiting_step_runs_the_iterators_finally() -> None:
    src = Source(ready=0, wait_s=10)
    steps = Stepper(src.items())
    assert steps.poll() is False
    await steps.abandon()
    assert src.closed_by == "cancelled"
    await steps.abandon()  # nothing pending: a no-op


async def test_a_wait_yields_to_other_tasks_and_returns_the_item() -> None:
    src = Source(ready=0, wait_s=0.05)
    steps = Stepper(src.items())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    other = asyncio.create_task(ticker())
    assert steps.poll() is False
    assert await steps.result() == 0
    other.cancel()
    assert ticks >= 3  # the loop ran other work while the step waited
