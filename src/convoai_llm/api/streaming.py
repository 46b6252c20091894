"""The SSE response: a pure ASGI callable that pumps a `Plan`'s events through an `Encoder`.

The pump (events → bytes → `send`) runs in the request's own task. A callback on `receive()` watches for
the client's disconnect (`api/hangup.DisconnectWatch`) and cancels the task at once, which closes the
provider stream (and so the upstream connection) in the pump's `finally`. When nothing has been sent for
`keepalive_s` (counted from the last chunk), an SSE comment goes out so proxies keep the stream open: one
timer per stream, re-armed only when it fires, whose short-lived task writes only while the pump does not
(the pump waits for it before its own next write). Errors after the first byte travel inside the stream in
the encoder's format.
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
from convoai_llm.api.hangup import DisconnectWatch
from convoai_llm.api.metrics import Metrics
from convoai_llm.api.stepper import Stepper
from convoai_llm.core.deadline import Deadline
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
        # Not `Response.__init__`: its headers are never sent (`__call__` sends its own); ~1 µs per stream.
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = []
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
        self._pumping = False
        self.watch: DisconnectWatch | None = None
        """The request's disconnect watch, handed over by the route (one per request); else made here."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = SSE_HEADERS + [(k.lower().encode(), v.encode()) for k, v in self.plan.headers.items()]
        watch = self.watch if self.watch is not None else DisconnectWatch(receive)
        children = self.route_metrics
        children.inflight.inc()
        beat = KeepAlive(self, send)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            self._last_send = time.perf_counter()
            await self._pump(send, beat)
        except asyncio.CancelledError:
            if watch.left and watch.task.uncancel() == 0:
                self._outcome = "client_disconnected"
                children.disconnects.inc()
                if not self._pumping:  # left before the pump ran: its `finally` did not close the plan
                    await self.plan.aclose()
                return  # the pump's `finally` closed the plan (and so the upstream)
            # The server is stopping and the grace period is over: end the stream properly.
            self._outcome = "error:shutdown"
            beat.stop()
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": self.encoder.error(SHUTDOWN), "more_body": True})
                await send({"type": "http.response.body", "body": self.encoder.done(), "more_body": False})
            raise
        finally:
            watch.stop()
            beat.stop()
            children.inflight.dec()
            elapsed = time.perf_counter() - self.started
            children.duration.observe(elapsed)
            if self.on_done is not None:
                self.on_done({"outcome": self._outcome, "ttft_ms": _ms(self._ttft), "duration_ms": _ms(elapsed)})

    async def _pump(self, send: Send, beat: KeepAlive) -> None:
        """Events → bytes → `send`, one write per batch: what the plan had ready without waiting (all
        the events of one upstream read) goes out together, and nothing is held while the plan waits."""
        self._pumping = True
        enc = self.encoder
        steps: Stepper[Event] = Stepper(self.plan.events)
        # The request's deadline, watched here (no generator layer): checked between events, and a wait
        # it cuts short ends the stream with `request_deadline`.
        dl = self.plan.deadline if self.plan.deadline is not None else Deadline(0.0, None).watch()
        out = [enc.head(self.plan)]
        try:
            while True:
                dl.check()
                if not steps.poll():  # the next event must be waited for: what we hold goes out first
                    await self._write(send, out, beat)
                    dl.check()
                    dl.waiting = dl.task
                try:
                    ev = await steps.result()
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    dl.absorb()
                    raise
                finally:
                    dl.waiting = None
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
        await self._send(send, beat, b"".join(out), more_body=False)

    async def _write(self, send: Send, out: list[bytes], beat: KeepAlive) -> None:
        if len(out) == 1 and out[0]:
            body = out[0]
        else:
            body = b"".join(out)
            if not body:
                out.clear()
                return
        out.clear()
        await self._send(send, beat, body, more_body=True)

    async def _send(self, send: Send, beat: KeepAlive, body: bytes, *, more_body: bool) -> None:
        """One body write, after a keep-alive being written (if any); no keep-alive starts while it runs,
        nor after the last write."""
        if beat.task is not None:  # no coroutine for `settle` when no keep-alive is being written
            await beat.settle()
        self._last_send = time.perf_counter()
        beat.writing = True
        try:
            await send({"type": "http.response.body", "body": body, "more_body": more_body})
        finally:
            beat.writing = not more_body

    def _first_token(self) -> None:
        self._ttft = time.perf_counter() - self.started
        self.route_metrics.ttft.observe(self._ttft)


class KeepAlive:
    """A stream's keep-alive comments: one timer at `keepalive_s` after the last write, re-armed when it
    fires (not per write). Due while the pump waits for the plan, it starts a task that writes the comment;
    the pump `settle()`s (waits for that task) before its own next write, so the two never interleave."""

    __slots__ = ("handle", "interval", "loop", "response", "send", "task", "writing")

    def __init__(self, response: SSEResponse, send: Send) -> None:
        self.response = response
        self.send = send
        self.interval = response.keepalive_s
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] | None = None
        self.writing = False
        self.handle: asyncio.TimerHandle | None = self.loop.call_later(self.interval, self._due)

    def _due(self) -> None:
        quiet = time.perf_counter() - self.response._last_send
        if quiet < self.interval or self.writing:
            self.handle = self.loop.call_later(max(0.0, self.interval - quiet), self._due)
            return
        self.handle = None
        self.task = self.loop.create_task(self._beat())

    async def _beat(self) -> None:
        self.response._last_send = time.perf_counter()
        try:
            await self.send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
        except Exception:  # the client left: the disconnect watch ends the stream
            return
        finally:
            self.task = None
        self.handle = self.loop.call_later(self.interval, self._due)

    async def settle(self) -> None:
        """Before a pump write: a keep-alive being written finishes first."""
        if self.task is not None:
            await self.task

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.task is not None:
            self.task.cancel()
            self.task = None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
