"""A mock OpenAI Chat Completions upstream built for load.

Raw asyncio protocol on uvloop, HTTP/1.1 parsed by httptools, keep-alive, chunked SSE responses.
A streaming answer is: a role chunk, ``--deltas`` content deltas paced ``--pacing-ms`` apart, a finish
chunk and ``data: [DONE]``. Each stream is driven by ``loop.call_later`` callbacks (no task per stream),
so one process holds thousands of streams on a fraction of a core. ``"stream": false`` gets one JSON
completion at once (or after ``--nonstream-delay-ms``).

For the hang-up measurement, a request whose last user message contains ``bench-tag:hup-…`` is tracked:
the mock records (monotonic clock, comparable across processes on Linux) when its response started,
whether it ran to the end, and when the peer closed the connection. ``GET /_bench/tracked`` returns
and clears those records; ``GET /_bench/stats`` returns counters.

Run: ``python -m bench.mock_upstream --port 9100``; prints ``READY <port>`` once listening.
``--strict`` answers a request OpenAI would reject as OpenAI does (400 and its error body: fields and
message keys its spec does not define, wrong types; ``tests/openai_rules.py``, which reads the spec from
``../shared``); off by default, since checking every body costs ~1 ms of the mock's CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import orjson

TAG_RE = re.compile(rb"bench-tag:([A-Za-z0-9_.-]+)")
PACING_RE = re.compile(rb"bench-pacing:([0-9.]+)")


@dataclass
class MockConfig:
    pacing_s: float = 0.020
    deltas: int = 64
    nonstream_delay_s: float = 0.0
    model: str = "mock-gpt"
    strict: bool = False


@dataclass
class Tracked:
    tag: str
    started: float
    first_byte: float | None = None
    completed: float | None = None
    closed: float | None = None


@dataclass
class Stats:
    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_aborted: int = 0
    nonstream: int = 0
    connections: int = 0
    open_connections: int = 0
    active_streams: int = 0
    peak_active_streams: int = 0
    tracked: dict[str, Tracked] = field(default_factory=dict)


def _chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunked-encoding frame."""
    return b"%x\r\n%s\r\n" % (len(data), data)


class Payloads:
    """Pre-encoded SSE events; only the completion id differs between streams."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        created = int(time.time())
        head = b'data: {"id":"'
        self.mid = b'","object":"chat.completion.chunk","created":%d,"model":"%s","choices":[{"index":0,"delta":' % (
            created,
            cfg.model.encode(),
        )
        self.role_tail = b'{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
        self.content_tails = [
            b'{"content":"%s"},"finish_reason":null}]}\n\n' % self.token(i).encode() for i in range(cfg.deltas)
        ]
        self.finish_tail = b'{},"finish_reason":"stop"}]}\n\n'
        self.head = head
        self.done = _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
        self.full_text = "".join(self.token(i) for i in range(cfg.deltas))

    @staticmethod
    def token(i: int) -> str:
        return f"tok{i} "

    def event(self, cid: bytes, tail: bytes) -> bytes:
        return _chunk(self.head + cid + self.mid + tail)

    def completion(self, cid: str) -> bytes:
        return orjson.dumps(
            {
                "id": cid,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.cfg.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.full_text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": self.cfg.deltas,
                    "total_tokens": 10 + self.cfg.deltas,
                },
            }
        )


SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


class Stream:
    """One paced SSE answer on a connection, driven by call_later callbacks."""

    __slots__ = ("cid", "conn", "handle", "i", "pacing", "tracked")

    def __init__(self, conn: MockProtocol, cid: bytes, tracked: Tracked | None, pacing: float) -> None:
        self.conn = conn
        self.pacing = pacing
        self.cid = cid
        self.i = -1  # -1: role chunk next; 0..deltas-1 content; deltas: finish
        self.handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self.tracked = tracked

    def start(self) -> None:
        st = self.conn.server.stats
        st.streams_started += 1
        st.active_streams += 1
        st.peak_active_streams = max(st.peak_active_streams, st.active_streams)
        p = self.conn.server.payloads
        self.conn.write(SSE_HEADERS + p.event(self.cid, p.role_tail))
        if self.tracked is not None:
            self.tracked.first_byte = time.monotonic()
        self.i = 0
        if self.pacing <= 0:  # everything at once (requests that ask for bench-pacing:0)
            cfg = self.conn.server.cfg
            self.conn.write(b"".join(p.event(self.cid, p.content_tails[i]) for i in range(cfg.deltas)))
            self.i = cfg.deltas
            self.handle = self.conn.loop.call_soon(self.step)
            return
        self.handle = self.conn.loop.call_later(self.pacing, self.step)

    def step(self) -> None:
        conn = self.conn
        if conn.closed:
            return
        p = conn.server.payloads
        cfg = conn.server.cfg
        if self.i < cfg.deltas:
            conn.write(p.event(self.cid, p.content_tails[self.i]))
            self.i += 1
            self.handle = conn.loop.call_later(self.pacing, self.step)
            return
        conn.write(p.event(self.cid, p.finish_tail) + p.done)
        self.handle = None
        st = conn.server.stats
        st.streams_completed += 1
        st.active_streams -= 1
        if self.tracked is not None:
            self.tracked.completed = time.monotonic()
        conn.stream_finished()

    def abort(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
            st = self.conn.server.stats
            st.streams_aborted += 1
            st.active_streams -= 1


class MockServer:
    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.payloads = Payloads(cfg)
        self.stats = Stats()
        self.seq = 0
        self.rules: Any = None
        if cfg.strict:
            from tests.openai_rules import ChatRules

            self.rules = ChatRules.best()


class MockProtocol(asyncio.Protocol):
    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.closed = False
        self.stream: Stream | None = None
        self.pending: list[tuple[bytes, bytes, bytes]] = []  # pipelined requests waiting for a stream
        self.method = b""
        self.tracked_here: list[Tracked] = []

    # -- transport callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server.stats.connections += 1
        self.server.stats.open_connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.close()

    def eof_received(self) -> bool | None:
        self._mark_closed()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed()
        self.server.stats.open_connections -= 1

    def _mark_closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        now = time.monotonic()
        for t in self.tracked_here:
            if t.closed is None:
                t.closed = now
        if self.stream is not None:
            self.stream.abort()
            self.stream = None
        if self.transport is not None:
            self.transport.close()

    # -- httptools callbacks -------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        req = (method, self.url, b"".join(self.body))
        if self.stream is not None or self.pending:
            self.pending.append(req)
        else:
            self.handle(*req)

    # -- request handling ----------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        self._mark_closed()

    def stream_finished(self) -> None:
        self.stream = None
        while self.pending and self.stream is None and not self.closed:
            self.handle(*self.pending.pop(0))

    def respond(self, status: bytes, body: bytes, ctype: bytes = b"application/json") -> None:
        self.write(
            b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (status, ctype, len(body), body)
        )

    def handle(self, method: bytes, url: bytes, body: bytes) -> None:
        srv = self.server
        srv.stats.requests += 1
        path = url.split(b"?", 1)[0]
        if method == b"POST" and path.endswith(b"/chat/completions"):
            self.chat(body)
        elif path in (b"/v1/models", b"/models"):
            self.respond(
                b"200 OK",
                orjson.dumps({"object": "list", "data": [{"id": srv.cfg.model, "object": "model"}]}),
            )
        elif path == b"/_bench/stats":
            d = {k: v for k, v in srv.stats.__dict__.items() if k != "tracked"}
            self.respond(b"200 OK", orjson.dumps(d))
        elif path == b"/_bench/tracked":
            out = {k: v.__dict__ for k, v in srv.stats.tracked.items()}
            srv.stats.tracked.clear()
            self.respond(b"200 OK", orjson.dumps(out))
        elif path in (b"/healthz", b"/health"):
            self.respond(b"200 OK", b'{"ok":true}')
        else:
            self.respond(b"404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error"}}')

    def chat(self, body: bytes) -> None:
        srv = self.server
        try:
            req: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            self.respond(b"400 Bad Request", b'{"error":{"message":"bad json","type":"invalid_request_error"}}')
            return
        if srv.rules is not None:
            rejection = srv.rules.check(req)
            if rejection is not None:
                self.respond(b"400 Bad Request", orjson.dumps(rejection.body()))
                return
        srv.seq += 1
        cid = b"chatcmpl-mock%d" % srv.seq
        tracked: Tracked | None = None
        m = TAG_RE.search(body)
        if m is not None and m.group(1).startswith(b"hup"):
            tag = m.group(1).decode()
            tracked = Tracked(tag=tag, started=time.monotonic())
            srv.stats.tracked[tag] = tracked
            self.tracked_here.append(tracked)
        if not (isinstance(req, dict) and req.get("stream")):
            srv.stats.nonstream += 1
            payload = srv.payloads.completion(cid.decode())
            if srv.cfg.nonstream_delay_s > 0:
                self.loop.call_later(srv.cfg.nonstream_delay_s, self.respond, b"200 OK", payload)
            else:
                self.respond(b"200 OK", payload)
            return
        pacing = srv.cfg.pacing_s
        pm = PACING_RE.search(body)
        if pm is not None:
            pacing = float(pm.group(1)) / 1000
        self.stream = Stream(self, cid, tracked, pacing)
        self.stream.start()


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(host: str, port: int, cfg: MockConfig, backlog: int = 4096) -> None:
    srv = MockServer(cfg)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: MockProtocol(srv), host, port, backlog=backlog, reuse_address=True)
    actual = server.sockets[0].getsockname()[1]
    print(f"READY {actual}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100)
    ap.add_argument("--pacing-ms", type=float, default=20.0)
    ap.add_argument("--deltas", type=int, default=64)
    ap.add_argument("--nonstream-delay-ms", type=float, default=0.0)
    ap.add_argument("--no-uvloop", action="store_true")
    ap.add_argument("--strict", action="store_true", help="reject what OpenAI rejects (400, its error body)")
    a = ap.parse_args(argv)
    raise_nofile()
    cfg = MockConfig(pacing_s=a.pacing_ms / 1000, deltas=a.deltas, nonstream_delay_s=a.nonstream_delay_ms / 1000,
                     strict=a.strict)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        if a.no_uvloop:
            asyncio.run(serve(a.host, a.port, cfg))
        else:
            import uvloop

            uvloop.run(serve(a.host, a.port, cfg))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
