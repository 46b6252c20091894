"""The server's start-up: what is alive once it has started is frozen out of the cyclic GC's reach."""

from __future__ import annotations

import asyncio
import gc

import uvicorn
from starlette.types import Receive, Scope, Send

from convoai_llm.server.runner import Server


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_start_up_freezes_the_objects_alive_then() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        assert gc.get_freeze_count() > 1000  # the interpreter, the modules, the app
    finally:
        server.should_exit = True
        await task
        gc.unfreeze()
