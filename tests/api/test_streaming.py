"""The SSE pump at its seam (a recorded ASGI `send`): one write per batch of ready events, nothing held
while the plan waits, and the stream's end in the same write as its last events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import Message

from convoai_llm.api.encoding import ChatEncoder
from convoai_llm.api.metrics import Metrics
from convoai_llm.api.streaming import SSEResponse
from convoai_llm.core.plan import Plan
from convoai_llm.events import Event, Finish, TextDelta, Usage
from convoai_llm.schemas.request import ChatRequest

REQUEST = ChatRequest.model_validate({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})


async def reads(*batches: list[Event]) -> AsyncIterator[Event]:
    """Events as a provider yields them: each batch came in one read, with a wait before it."""
    for batch in batches:
        await asyncio.sleep(0.01)
        for ev in batch:
            yield ev


async def run(events: AsyncIterator[Event]) -> list[bytes]:
    bodies: list[bytes] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    plan = Plan(REQUEST, "m", events)
    response = SSEResponse(plan, ChatEncoder("m", REQUEST), route="/chat/completions", metrics=Metrics(),
                           keepalive_s=15.0, started=0.0)  # fmt: skip
    await response({"type": "http"}, receive, send)
    return bodies


async def test_each_read_goes_out_in_one_write() -> None:
    bodies = await run(
        reads([TextDelta("a"), TextDelta("b"), TextDelta("c")], [TextDelta("d"), Finish("stop"), Usage(3, 4)])
    )
    assert len(bodies) == 3  # the role chunk (before the first wait), the first read, the second read + end
    assert bodies[0].count(b"data: ") == 1 and b'"role":"assistant"' in bodies[0]
    assert bodies[1].count(b"data: ") == 3 and b'"content":"c"' in bodies[1]
    assert bodies[2].endswith(b"data: [DONE]\n\n") and b'"content":"d"' in bodies[2]
    assert b'"finish_reason":"stop"' in bodies[2]


async def test_an_error_after_a_read_ends_the_stream_in_the_stream() -> None:
    async def broken() -> AsyncIterator[Event]:
        async for ev in reads([TextDelta("a")]):
            yield ev
        raise ValueError("boom")

    bodies = await run(broken())
    joined = b"".join(bodies)
    assert b'"content":"a"' in joined and b'"error"' in joined and joined.endswith(b"data: [DONE]\n\n")


async def test_events_that_never_wait_go_out_with_the_end_in_one_write() -> None:
    async def replayed() -> AsyncIterator[Event]:
        for ev in (TextDelta("x"), Finish("stop")):
            yield ev

    bodies = await run(replayed())
    assert len(bodies) == 1
    assert bodies[0].count(b"data: ") == 4  # role, text, finish, [DONE]
