"""`until_disconnect` at its seam: a fake ASGI `receive` and work that waits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from convoai_llm.api.hangup import until_disconnect
from convoai_llm.errors import ClientClosed


class Inbox:
    """An ASGI `receive` fed by the test; counts the calls still waiting."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.waiting = 0

    async def receive(self) -> dict[str, Any]:
        self.waiting += 1
        try:
            return await self.queue.get()
        finally:
            self.waiting -= 1


async def test_work_that_finishes_returns_its_result_and_stops_watching() -> None:
    inbox = Inbox()
    assert await until_disconnect(inbox.receive, asyncio.sleep(0.01, result="answer")) == "answer"
    await asyncio.sleep(0)
    assert inbox.waiting == 0


async def test_a_disconnect_cancels_the_work_and_raises_client_closed() -> None:
    inbox = Inbox()
    cancelled = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    asyncio.get_running_loop().call_later(0.02, inbox.queue.put_nowait, {"type": "http.disconnect"})
    with pytest.raises(ClientClosed):
        await until_disconnect(inbox.receive, work())
    assert cancelled.is_set()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_other_messages_are_read_past_and_the_watch_goes_on() -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, inbox.queue.put_nowait, {"type": "http.request", "body": b"", "more_body": False})
    loop.call_later(0.03, inbox.queue.put_nowait, {"type": "http.disconnect"})
    with pytest.raises(ClientClosed):
        await until_disconnect(inbox.receive, asyncio.sleep(10))


async def test_work_errors_pass_through() -> None:
    async def work() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await until_disconnect(Inbox().receive, work())


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    task = asyncio.create_task(until_disconnect(Inbox().receive, asyncio.sleep(10)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
