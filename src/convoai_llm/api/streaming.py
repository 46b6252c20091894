"""The SSE response: a pure ASGI callable that encodes a `Plan`'s events.

Two tasks per stream: the pump (events → bytes → `send`) and a waiter on `receive()` for the
client's disconnect. A disconnect cancels the pump at once, which closes the provider stream (and
so the upstream connection) in its `finally`. While the pump is silent for `keepalive_s`, an SSE
comment goes out so proxies keep the stream open. Errors after the first byte travel as an error
chunk followed by `[DONE]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from convoai_llm.api.metrics import Metrics
from convoai_llm.core.pipeline import Plan
from convoai_llm.errors import ConvoError, Unavailable
from convoai_llm.events import AudioDelta, Finish, Metadata, Sources, TextDelta, ToolCallDelta, Usage
from convoai_llm.sse.encoder import DONE, KEEPALIVE, ChunkEncoder, error_chunk, server_error_chunk

log = logging.getLogger("convoai_llm.stream")

SHUTDOWN = Unavailable("The server is shutting down; the stream was ended.", code="server_shutting_down")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class SSEResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        plan: Plan,
        encoder: ChunkEncoder,
        *,
        route: str,
        metrics: Metrics,
        keepalive_s: float,
        started: float,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(status_code=200)
        self.plan = plan
        self.encoder = encoder
        self.route = route
        self.metrics = metrics
        self.keepalive_s = keepalive_s
        self.started = started
        self.on_done = on_done
        self._last_send = 0.0
        self._ttft: float | None = None
        self._outcome = "ok"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        self.metrics.inflight.labels(self.route).inc()
        pump = asyncio.create_task(self._pump(send))
        waiter: asyncio.Future[Any] = asyncio.ensure_future(receive())
        try:
            while True:
                done, _ = await asyncio.wait({pump, waiter}, timeout=self.keepalive_s, return_when="FIRST_COMPLETED")
                if pump in done:
                    break
                if waiter in done:
                    if waiter.result()["type"] == "http.disconnect":
                        self._outcome = "client_disconnected"
                        self.metrics.disconnects.labels(self.route).inc()
                        break  # `finally` cancels the pump, which closes the upstream
                    waiter = asyncio.ensure_future(receive())
                elif time.perf_counter() - self._last_send >= self.keepalive_s:
                    self._last_send = time.perf_counter()
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
        except asyncio.CancelledError:
            # The server is stopping and the grace period is over: end the stream properly.
            self._outcome = "error:shutdown"
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": error_chunk(SHUTDOWN.envelope()), "more_body": True})
                await send({"type": "http.response.body", "body": DONE, "more_body": False})
            raise
        finally:
            waiter.cancel()
            if not pump.done():
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
            self.metrics.inflight.labels(self.route).dec()
            elapsed = time.perf_counter() - self.started
            self.metrics.duration.labels(self.route).observe(elapsed)
            if self.on_done is not None:
                self.on_done({"outcome": self._outcome, "ttft_ms": _ms(self._ttft), "duration_ms": _ms(elapsed)})

    async def _pump(self, send: Send) -> None:
        enc = self.encoder
        include_usage = self.plan.request.include_usage

        async def emit(body: bytes) -> None:
            self._last_send = time.perf_counter()
            await send({"type": "http.response.body", "body": body, "more_body": True})

        usage: Usage | None = None
        try:
            for ev in self.plan.prefix:
                if isinstance(ev, Metadata):
                    await emit(enc.metadata(ev))
            await emit(enc.role())
            async for ev in self.plan.events:
                if isinstance(ev, TextDelta):
                    self._first_token()
                    await emit(enc.text(ev))
                elif isinstance(ev, AudioDelta):
                    self._first_token()
                    await emit(enc.audio(ev))
                elif isinstance(ev, ToolCallDelta):
                    self._first_token()
                    await emit(enc.tool_call(ev))
                elif isinstance(ev, Finish):
                    await emit(enc.finish(ev))
                elif isinstance(ev, Usage):
                    usage = ev
                elif isinstance(ev, Sources):
                    await emit(enc.sources(ev))
            if usage is not None and include_usage:  # always the last chunk before [DONE]
                await emit(enc.usage(usage))
        except ConvoError as exc:
            self._outcome = f"error:{exc.type}"
            self.metrics.stream_errors.labels(self.route, exc.type).inc()
            await emit(error_chunk(exc.envelope()))
        except Exception:
            self._outcome = "error:server_error"
            self.metrics.stream_errors.labels(self.route, "server_error").inc()
            log.exception("stream failed")
            await emit(server_error_chunk())
        finally:
            await self.plan.aclose()
        await send({"type": "http.response.body", "body": DONE, "more_body": False})

    def _first_token(self) -> None:
        if self._ttft is None:
            self._ttft = time.perf_counter() - self.started
            self.metrics.ttft.labels(self.route).observe(self._ttft)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
