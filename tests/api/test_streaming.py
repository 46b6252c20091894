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
from convoai_llm.core.deadline import Deadline
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


async def run(
    events: AsyncIterator[Event], keepalive_s: float = 15.0, leave_after_s: float = 10.0, deadline_s: float = 0.0
) -> list[bytes]:
    bodies: list[bytes] = []
    ended = False

    async def send(message: Message) -> None:
        nonlocal ended
        if message["type"] == "http.response.body":
            assert not ended, "a write after the last one"
            await asyncio.sleep(0.002)  # a write that yields, as uvicorn's does when the socket is full
            bodies.append(message["body"])
            ended = not message["more_body"]

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(leave_after_s)
        return {"type": "http.disconnect"}

    plan = Plan(REQUEST, "m", events, deadline=Deadline.after(deadline_s).watch())
    response = SSEResponse(plan, ChatEncoder("m", REQUEST), route="/chat/completions", metrics=Metrics(),
                           keepalive_s=keepalive_s, started=0.0)  # fmt: skip
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


async def test_keepalives_while_the_plan_waits_never_interleave_with_writes() -> None:
    async def slow() -> AsyncIterator[Event]:
        for ev in (TextDelta("a"), TextDelta("b"), Finish("stop")):
            await asyncio.sleep(0.12)
            yield ev

    bodies = await run(slow(), keepalive_s=0.05)
    assert b": keep-alive\n\n" in bodies  # comments while the plan waited, each a write of its own
    data = [b for b in bodies if b != b": keep-alive\n\n"]
    assert all(b.startswith(b"data: ") for b in data) and data[-1].endswith(b"data: [DONE]\n\n")
    assert bodies[-1] == data[-1]  # nothing after the end (`send` asserts it too)


async def test_a_disconnect_ends_the_stream_and_closes_the_plan() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[Event]:
        try:
            while True:
                await asyncio.sleep(0.01)
                yield TextDelta("x")
        finally:
            closed.set()

    bodies = await asyncio.wait_for(run(endless(), leave_after_s=0.1), 2.0)
    assert closed.is_set() and bodies and not bodies[-1].endswith(b"[DONE]\n\n")


async def test_the_deadline_cuts_a_wait_inside_the_stream_and_closes_the_events() -> None:
    closed = False

    async def slow() -> AsyncIterator[Event]:
        nonlocal closed
        try:
            yield TextDelta("a")
            await asyncio.sleep(5)
            yield TextDelta("never")
        finally:
            closed = True

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    bodies = await run(slow(), deadline_s=0.1)
    assert loop.time() - t0 < 1.0  # cut at the deadline, not after the 5 s wait
    whole = b"".join(bodies)
    assert b'"content":"a"' in whole and b"never" not in whole
    assert b'"code":"request_deadline"' in whole and whole.endswith(b"data: [DONE]\n\n")
    assert closed
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_the_deadline_ends_an_endless_stream_of_quick_events() -> None:
    async def endless() -> AsyncIterator[Event]:
        i = 0
        while True:  # quick reads and 2 ms writes: the deadline passes while waiting or while writing
            await asyncio.sleep(0.001)
            yield TextDelta(str(i))
            i += 1

    bodies = await run(endless(), deadline_s=0.1)
    whole = b"".join(bodies)
    assert b'"content":"0"' in whole and whole.endswith(b"data: [DONE]\n\n")
    assert b'"code":"request_deadline"' in whole
