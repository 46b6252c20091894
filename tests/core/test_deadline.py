"""The request deadline over a stream: one timer per stream, the same outcomes as a timeout per event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from convoai_llm.core.deadline import Deadline
from convoai_llm.errors import DeadlineExceeded
from convoai_llm.events import Event, TextDelta


class Paced:
    """`n` text events, `gap_s` apart; records whether it was closed."""

    def __init__(self, n: int, gap_s: float) -> None:
        self.n, self.gap_s = n, gap_s
        self.closed = False

    async def events(self) -> AsyncIterator[Event]:
        try:
            for i in range(self.n):
                await asyncio.sleep(self.gap_s)
                yield TextDelta(str(i))
        finally:
            self.closed = True


async def drain(events: AsyncIterator[Event], pause_s: float = 0.0) -> list[str]:
    out: list[str] = []
    async for ev in events:
        assert isinstance(ev, TextDelta)
        out.append(ev.text)
        if pause_s:
            await asyncio.sleep(pause_s)
    return out


async def test_a_stream_within_its_deadline_passes_whole() -> None:
    src = Paced(5, 0.001)
    assert await drain(Deadline.after(5.0).bounded(src.events())) == ["0", "1", "2", "3", "4"]
    assert src.closed


async def test_a_wait_past_the_deadline_raises_and_closes_the_inner_stream() -> None:
    src = Paced(3, 0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(DeadlineExceeded):
        await drain(Deadline.after(0.1).bounded(src.events()))
    assert loop.time() - t0 < 0.25  # the wait was cut at the deadline, not at the next event
    assert src.closed
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_deadline_passed_while_the_consumer_works_raises_at_the_next_step() -> None:
    src = Paced(5, 0.0)
    got: list[str] = []
    with pytest.raises(DeadlineExceeded):
        async for ev in Deadline.after(0.05).bounded(src.events()):
            assert isinstance(ev, TextDelta)
            got.append(ev.text)
            await asyncio.sleep(0.1)  # the consumer, not the stream, is slow: no cancellation reaches it
    assert got == ["0"]
    assert src.closed


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    src = Paced(3, 1.0)
    task = asyncio.create_task(drain(Deadline.after(0.2).bounded(src.events())))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert src.closed


async def test_no_deadline_runs_without_a_timer() -> None:
    src = Paced(2, 0.0)
    assert await drain(Deadline.after(0).bounded(src.events())) == ["0", "1"]
