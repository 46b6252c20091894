"""The floor: the least a Python relay on this stack (uvicorn + httptools + uvloop, aiohttp) can cost.

A bench reference, not the product: a bare ASGI app with no routing, checks, auth, limits, metrics,
deadlines, hang-up handling or error mapping. It reads the body, parses it with orjson, posts it to the
upstream through one pooled aiohttp session and relays each upstream read's bytes unchanged (no SSE
decoding, no re-encoding). `bench/hotpath_bench.py --floor` measures it beside convoai-llm with the same
load, so the README can say how much of convoai-llm's cost is the stack itself.

Run: `FLOOR_UPSTREAM=http://127.0.0.1:PORT/v1 uvicorn bench.floor_relay:app --http httptools --loop uvloop`
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import orjson
from yarl import URL

HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream", "Accept-Encoding": "identity"}
SSE_HEAD = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


class FloorRelay:
    def __init__(self, upstream: str) -> None:
        self.url = URL(f"{upstream}/chat/completions")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["method"] == "GET":  # the harness's health check
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = orjson.loads(body)
        request["stream"] = True
        assert self.session is not None
        async with self.session.post(self.url, data=orjson.dumps(request), headers=HEADERS) as resp:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEAD})
            while raw := await resp.content.readany():
                await send({"type": "http.response.body", "body": raw, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=60)
                self.session = aiohttp.ClientSession(
                    connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = FloorRelay(os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:9/v1"))
