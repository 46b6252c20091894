"""Hang-ups before the first byte: planning and a non-streaming answer stop when the client leaves.

`until_disconnect(receive, work)` runs `work` (pipeline planning, and for a non-streaming request the
whole answer) while watching `receive()` for `http.disconnect`. When the client leaves first, `work`
is cancelled at once — which closes the provider stream and so the upstream connection — and
`ClientClosed` (499, never sent, never logged as an error) is raised. Once the body has been read, the
ASGI server's `receive()` only ever returns the disconnect. A running stream watches for itself
(`api/streaming.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.types import Receive

from convoai_llm.errors import ClientClosed

T = TypeVar("T")


async def until_disconnect(receive: Receive, work: Coroutine[Any, Any, T]) -> T:
    task = asyncio.ensure_future(work)
    waiter: asyncio.Future[Any] = asyncio.ensure_future(receive())
    try:
        while True:
            await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            if waiter.result()["type"] == "http.disconnect":
                raise ClientClosed("The client closed the connection before the answer.")
            waiter = asyncio.ensure_future(receive())
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
