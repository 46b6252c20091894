"""The SSE response: a pure ASGI callable that pumps a `Plan`'s events through an `Encoder`.

Two tasks per stream: the pump (events → bytes → `send`) and a waiter on `receive()` for the
client's disconnect. A disconnect cancels the pump at once, which closes the provider stream (and
so the upstream connection) in its `finally`. When nothing has been sent for `keepalive_s` (counted
from the last chunk, not from the last check), an SSE comment goes out so proxies keep the stream
open. Errors after the first byte travel inside the stream in the encoder's format.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from convoai_llm.api.encoding import Encoder
from convoai_llm.api.errors import stream_error
from convoai_llm.api.metrics import Metrics
from convoai_llm.api.stepper import Stepper
from convoai_llm.core.plan import Plan
from convoai_llm.errors import ConvoError, Unavailable
from convoai_llm.events import AudioDelta, Event, TextDelta, ToolCallDelta
from convoai_llm.sse.encoder import KEEPALIVE

SHUTDOWN = Unavailable("The server is shutting down; the stream was ended.", code="server_shutting_down")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
CONTENT = (TextDelta, AudioDelta, ToolCallDelta)


class SSEResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        plan: Plan,
        encoder: Encoder,
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
        self.route_metrics = metrics.route(route)
        self.keepalive_s = keepalive_s
        self.started = started
        self.on_done = on_done
        self._last_send = time.perf_counter()
        self._ttft: float | None = None
        self._outcome = "ok"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = SSE_HEADERS + [(k.lower().encode(), v.encode()) for k, v in self.plan.headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self._last_send = time.perf_counter()
        self.route_metrics.inflight.inc()
        pump = asyncio.create_task(self._pump(send))
        waiter: asyncio.Future[Any] = asyncio.ensure_future(receive())
        try:
            while True:
                quiet = time.perf_counter() - self._last_send
                await first_done(pump, waiter, max(0.0, self.keepalive_s - quiet))
                if pump.done():
                    break
                if waiter.done():
                    if waiter.result()["type"] == "http.disconnect":
                        self._outcome = "client_disconnected"
                        self.route_metrics.disconnects.inc()
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
                await send({"type": "http.response.body", "body": self.encoder.error(SHUTDOWN), "more_body": True})
                await send({"type": "http.response.body", "body": self.encoder.done(), "more_body": False})
            raise
        finally:
            waiter.cancel()
            if not pump.done():
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
            self.route_metrics.inflight.dec()
            elapsed = time.perf_counter() - self.started
            self.route_metrics.duration.observe(elapsed)
            if self.on_done is not None:
                self.on_done({"outcome": self._outcome, "ttft_ms": _ms(self._ttft), "duration_ms": _ms(elapsed)})

    async def _pump(self, send: Send) -> None:
        """Events → bytes → `send`, one write per batch: what the plan had ready without waiting (all
        the events of one upstream read) goes out together, and nothing is held while the plan waits."""
        enc = self.encoder
        steps: Stepper[Event] = Stepper(self.plan.events)
        out = [enc.head(self.plan)]
        try:
            while True:
                if not steps.poll():  # the next event must be waited for: what we hold goes out first
                    await self._write(send, out)
                try:
                    ev = await steps.result()
                except StopAsyncIteration:
                    break
                if self._ttft is None and isinstance(ev, CONTENT):
                    self._first_token()
                body = enc.event(ev)
                if body:
                    out.append(body)
            out.append(enc.end())
        except Exception as exc:
            err: ConvoError = stream_error(exc)
            self._outcome = f"error:{err.type}"
            self.metrics.stream_errors.labels(self.route, err.type).inc()
            out.append(enc.error(err))
        finally:
            await steps.abandon()
            await self.plan.aclose()
        out.append(enc.done())
        await send({"type": "http.response.body", "body": b"".join(out), "more_body": False})

    async def _write(self, send: Send, out: list[bytes]) -> None:
        if len(out) == 1 and out[0]:
            body = out[0]
        else:
            body = b"".join(out)
            if not body:
                out.clear()
                return
        out.clear()
        self._last_send = time.perf_counter()
        await send({"type": "http.response.body", "body": body, "more_body": True})

    def _first_token(self) -> None:
        self._ttft = time.perf_counter() - self.started
        self.route_metrics.ttft.observe(self._ttft)


async def first_done(a: asyncio.Future[Any], b: asyncio.Future[Any], timeout_s: float) -> None:
    """Until `a` or `b` is done or `timeout_s` has passed. `asyncio.wait` does the same but checks each
    argument with `asyncio.iscoroutine`, whose ABC check measured 17% of the chat route's per-request
    CPU (bench/hotpath_bench.py); this is one future, two callbacks and one timer."""
    if a.done() or b.done():
        return
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not woken.done():
            woken.set_result(None)

    a.add_done_callback(wake)
    b.add_done_callback(wake)
    timer = loop.call_later(timeout_s, wake)
    try:
        await woken
    finally:
        timer.cancel()
        a.remove_done_callback(wake)
        b.remove_done_callback(wake)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
