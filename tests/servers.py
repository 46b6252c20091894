"""Real servers on loopback for end-to-end tests: the app under uvicorn, and a mock OpenAI upstream.

Both run in their own thread with their own event loop, so every test request crosses a real socket.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
import uvicorn
from aiohttp import web

from convoai_llm.server import ConnectionGuard, ConnectionLimits, GuardedHttpToolsProtocol, ServerConfig
from tests.openai_rules import ChatRules


class UvicornThread:
    """`uvicorn.Server` on 127.0.0.1 with an OS-chosen port, in a thread, with the HTTP layer `serve` runs
    (the guarded httptools protocol and its connection limits), so every e2e test crosses it."""

    def __init__(self, app: Any) -> None:
        config = ServerConfig(
            ConnectionGuard(ConnectionLimits()), app=app, host="127.0.0.1", port=0, log_level="warning", ws="none",
            lifespan="on", access_log=False, http=GuardedHttpToolsProtocol,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 120  # the embedded model loads in the lifespan: slow on a loaded machine
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class AppThread:
    """An aiohttp app on 127.0.0.1 (OS-chosen port) in its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> AppThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self.runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def openai_shape_problem(body: dict[str, Any]) -> str | None:
    """What OpenAI would reject in this body (`tests/openai_rules.py`: its spec plus observed rules), else None."""
    rejection = openai_rules().check(body)
    return rejection.message if rejection is not None else None


@cache
def openai_rules() -> ChatRules:
    """OpenAI's request rules, read once per test process (from the spec when found, else the subset)."""
    return ChatRules.best()


def chunk(model: str, delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-upstream",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
    }
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body.update(extra)
    return b"data: " + orjson.dumps(body) + b"\n\n"


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]
    closed_at: float | None = None
    finished: bool = False
    rejected: str | None = None
    """The strict mock's 400 message, when it refused the request."""


@dataclass
class MockUpstream:
    """An OpenAI-compatible upstream whose behaviour is chosen by the request's `model`.

    `mock-stream` (default): role, the words of `text` one per chunk paced `pace` s, finish, usage, [DONE].
    `mock-tools`: a `get_weather` call for Paris; after a `tool` message, "The tool said: <its content>".
    Others: mock-429, mock-500, mock-503, mock-401, mock-404, mock-slow-headers,
    mock-stall, mock-drop, mock-truncated, mock-long, mock-silent, mock-json, mock-html, mock-badjson,
    mock-error-chunk.
    """

    text: str = "Hello from the mock upstream ."
    pace: float = 0.01
    strict: bool = True
    """Answer a request OpenAI would reject as OpenAI does (400, its error body): fields and message keys its
    spec does not define, wrong types and values, and the rules it enforces beyond the spec
    (`tests/openai_rules.py`). `strict=False` accepts anything."""
    seen: list[Seen] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self.server = AppThread(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/v1"

    def __enter__(self) -> MockUpstream:
        if self.strict:
            openai_rules()  # read the spec now, not inside the first request (seconds on a loaded machine)
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        seen = Seen(body=body, headers=dict(request.headers))
        self.seen.append(seen)
        model = str(body.get("model") or "mock-stream")
        if model == "mock-strict" or self.strict:
            rejection = openai_rules().check(body)
            if rejection is not None:
                seen.rejected = rejection.message
                return web.json_response(rejection.body(), status=400)
        try:
            resp = await self._behave(model, request, body)
            seen.finished = True
            return resp
        except asyncio.CancelledError:
            seen.closed_at = time.monotonic()
            raise
        except ConnectionResetError:
            seen.closed_at = time.monotonic()
            raise

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        return resp

    async def _words(self, resp: web.StreamResponse, model: str, pace: float, count: int | None = None) -> None:
        words = self.text.split(" ")
        if count is not None:
            words = [f"w{i} " for i in range(count)]
        await resp.write(chunk(model, {"role": "assistant", "content": ""}))
        for i, word in enumerate(words):
            await asyncio.sleep(pace)
            await resp.write(chunk(model, {"content": word if count else (word if i == 0 else " " + word)}))

    async def _tools(self, resp: web.StreamResponse, model: str, last: dict[str, Any]) -> None:
        """A `get_weather` call for Paris; after a `tool` message (the round trip's second turn), text."""
        if last.get("role") == "tool":
            await resp.write(chunk(model, {"role": "assistant", "content": ""}))
            await resp.write(chunk(model, {"content": f"The tool said: {last.get('content')}"}))
            await resp.write(chunk(model, {}, "stop"))
            return
        await resp.write(chunk(model, {"role": "assistant", "content": None}))
        call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        await resp.write(chunk(model, {"tool_calls": [call]}))
        for part in ('{"city":', ' "Paris"}'):
            await resp.write(chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
        await resp.write(chunk(model, {}, "tool_calls"))

    async def _behave(self, model: str, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        self.counts[model] = self.counts.get(model, 0) + 1
        if model.startswith("mock-flaky-"):  # mock-flaky-N-tag: 503 for the first N calls, then a stream
            if self.counts[model] <= int(model.split("-")[2]):
                err = {"error": {"message": "Overloaded.", "type": "server_error", "param": None, "code": None}}
                return web.json_response(err, status=503)
            model = "mock-stream"
        if model in ("mock-429", "mock-500", "mock-503", "mock-401", "mock-404"):
            status = int(model.split("-")[1])
            msg = {401: "Incorrect API key provided: sk-upstr*****cret.", 429: "Rate limit reached.",
                   404: "The model `x` does not exist.", 500: "Upstream exploded.",
                   503: "Overloaded."}[status]  # fmt: skip
            headers = {"Retry-After": "7"} if status == 429 else {}
            err = {"error": {"message": msg, "type": "test_error", "param": None, "code": f"code_{status}"}}
            return web.json_response(err, status=status, headers=headers)
        if model == "mock-slow-headers":
            await asyncio.sleep(5)
        if model == "mock-json":
            return web.json_response({
                "id": "x", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole answer"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})  # fmt: skip
        if model == "mock-html":
            return web.Response(text="<html>proxy error page</html>", content_type="text/html")
        resp = await self._sse(request)
        if model == "mock-tools":
            await self._tools(resp, model, (body.get("messages") or [{}])[-1])
        elif model == "mock-drop":
            await self._words(resp, model, self.pace)
            request.transport.close()  # type: ignore[union-attr]  # abrupt: no terminating chunk
            return resp
        elif model == "mock-truncated":
            await self._words(resp, model, self.pace)
            await resp.write_eof()  # clean end of body, but no finish and no [DONE]
            return resp
        elif model == "mock-stall":
            await self._words(resp, model, self.pace)
            await asyncio.sleep(10)
        elif model == "mock-long":
            await self._words(resp, model, 0.05, count=200)
        elif model == "mock-medium":
            await self._words(resp, model, 0.05, count=16)
        elif model == "mock-silent":
            await resp.write(chunk(model, {"role": "assistant", "content": ""}))
            await asyncio.sleep(1.2)
            await resp.write(chunk(model, {"content": "after silence"}))
        elif model == "mock-badjson":
            await resp.write(chunk(model, {"role": "assistant", "content": "ok"}))
            await resp.write(b"data: {not json\n\n")
        elif model == "mock-error-chunk":
            await resp.write(chunk(model, {"role": "assistant", "content": "partial"}))
            await resp.write(
                b'data: {"error": {"message": "upstream overloaded mid-stream", "type": "server_error"}}\n\n'
            )
        else:
            await self._words(resp, model, self.pace)
        if model not in ("mock-tools", "mock-badjson", "mock-error-chunk"):
            await resp.write(chunk(model, {}, "stop"))
        if model not in ("mock-badjson", "mock-error-chunk"):
            if (body.get("stream_options") or {}).get("include_usage"):
                await resp.write(chunk(model, None, usage={"prompt_tokens": 11, "completion_tokens": 6,
                                                          "total_tokens": 17}))  # fmt: skip
            await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


async def aiter_list(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item
