"""Hang-ups before the first byte: planning and a non-streaming answer stop when the client leaves.

`until_disconnect(receive, work)` runs `work` (pipeline planning, and for a non-streaming request the
whole answer) while watching `receive()` for `http.disconnect`. When the client leaves first, `work`
is cancelled at once — which closes the provider stream and so the upstream connection — and
`ClientClosed` (499, never sent, never logged as an error) is raised. Once the body has been read, the
ASGI server's `receive()` only ever returns the disconnect. A running stream watches for itself
(`api/streaming.py`).

`work` runs in the caller's own task and the watch is a callback on the `receive()` future, so a request
costs one extra task (the `receive()` call), not two tasks and an `asyncio.wait`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.types import Receive

from convoai_llm.errors import ClientClosed

T = TypeVar("T")


async def until_disconnect(
    receive: Receive, work: Coroutine[Any, Any, T], *, watch: DisconnectWatch | None = None
) -> T:
    """`work`, or `ClientClosed` once the client has left. A `watch` passed in (the request's own, made in
    this task) is left running for the response to take over: one watch per request, not one per stage."""
    own = watch is None
    if watch is None:
        watch = DisconnectWatch(receive)
    try:
        return await work
    except asyncio.CancelledError:
        if watch.left and watch.task.uncancel() == 0:
            raise ClientClosed("The client closed the connection before the answer.") from None
        raise
    finally:
        if own:
            watch.stop()


class DisconnectWatch:
    """Cancels the task that made it when `receive()` says the client left."""

    __slots__ = ("left", "receive", "task", "waiter")

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None, "until_disconnect runs inside a task"
        self.task: asyncio.Task[Any] = task
        self.receive = receive
        self.left = False
        self.waiter = self._wait()

    def _wait(self) -> asyncio.Future[Any]:
        waiter: asyncio.Future[Any] = asyncio.ensure_future(self.receive())
        waiter.add_done_callback(self._received)
        return waiter

    def _received(self, waiter: asyncio.Future[Any]) -> None:
        if waiter.cancelled() or waiter.exception() is not None or waiter is not self.waiter:
            return
        if waiter.result()["type"] == "http.disconnect":
            self.left = True
            self.task.cancel()
        else:
            self.waiter = self._wait()

    def stop(self) -> None:
        self.waiter.remove_done_callback(self._received)
        self.waiter.cancel()
