"""Load generator: its own process, one uvloop event loop, aiohttp's raw client.

Modes (``--mode``):
- ``stream``: ``--concurrency`` workers, each opens ``--streams-per-worker`` streams one after another on a
  kept-alive connection; the workers' starts are spread over ``--ramp-s`` so stream phases are uniform.
  Per stream it records the time to the first content byte (first SSE event with non-empty
  ``delta.content``), every inter-chunk gap after it (arrival time of each ``data:`` event; events that
  arrive in one read get a 0 gap), the total time, errors and stalls (a gap > ``--stall-ms``).
- ``soak``: like ``stream`` but every worker loops until ``--duration-s``; results are summarised per
  ``--window-s`` window instead of returned raw.
- ``nonstream``: ``--concurrency`` workers send ``"stream": false`` requests for ``--duration-s``.
- ``hangup``: ``--count`` streams (``--concurrency`` at a time), each tagged ``bench-tag:hup-…``; after the
  first content event plus ``--hangup-after`` more, the client closes the socket and records when
  (monotonic clock). The harness matches that with the mock's record of when its side closed.

Every loop is bounded in count and time (``--max-s`` caps the whole run). It measures itself: its CPU
use (1.0 = one core, i.e. saturated) and its event-loop lag, so a saturated generator is visible.
Writes one JSON document to ``--out`` (or stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import socket
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
import httptools
import orjson


@dataclass
class Opts:
    url: str
    mode: str
    concurrency: int
    streams_per_worker: int
    ramp_s: float
    stall_ms: float
    duration_s: float
    window_s: float
    count: int
    hangup_after: int
    max_s: float
    model: str
    stream_timeout_s: float
    run_id: str
    client: str = "raw"
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (e.g. a gateway's routing headers, or an h2c upgrade offer)."""

    @property
    def all_headers(self) -> dict[str, str]:
        return {**HEADERS, **self.headers}

    @property
    def raw_extra(self) -> bytes:
        return b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in self.headers.items())


@dataclass
class StreamResult:
    ok: bool
    ttft_ms: float | None = None
    total_ms: float = 0.0
    gaps: list[float] = field(default_factory=list)
    error: str | None = None
    events: int = 0
    stalled: bool = False
    end: float = 0.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def body_for(model: str, tag: str, stream: bool) -> bytes:
    return orjson.dumps(
        {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful voice agent."},
                {"role": "user", "content": f"Say something. bench-tag:{tag}"},
            ],
            "stream": stream,
        }
    )


HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench"}


def _has_content(ev: bytes) -> bool:
    try:
        d = orjson.loads(ev[5:])
    except orjson.JSONDecodeError:
        return False
    if not isinstance(d, dict):
        return False
    for ch in d.get("choices") or ():
        delta = ch.get("delta") or {}
        if delta.get("content"):
            return True
    return False


async def one_stream(session: aiohttp.ClientSession, o: Opts, tag: str) -> tuple[StreamResult, float | None]:
    """One stream with aiohttp's client (``--client aiohttp``, for comparison with the raw client)."""
    r = StreamResult(ok=False)
    stall_s = o.stall_ms / 1000
    t0 = time.monotonic()
    closed_at: float | None = None
    try:
        async with asyncio.timeout(o.stream_timeout_s):
            resp = await session.post(o.url, data=body_for(o.model, tag, True), headers=o.all_headers)
            try:
                if resp.status != 200:
                    r.error = f"http {resp.status}"
                    await resp.read()
                    return r, None
                buf = b""
                first: float | None = None
                last = 0.0
                done = False
                while True:
                    data = await resp.content.readany()
                    if not data:
                        break
                    now = time.monotonic()
                    if b"\r" in data:
                        data = data.replace(b"\r\n", b"\n")
                    buf += data
                    if b"\n\n" not in buf:
                        continue
                    parts = buf.split(b"\n\n")
                    buf = parts.pop()
                    for ev in parts:
                        if not ev.startswith(b"data:"):
                            continue  # SSE comment (keep-alive) or other field
                        if ev.startswith(b"data: [DONE]") or ev.startswith(b"data:[DONE]"):
                            done = True
                            break
                        r.events += 1
                        if first is None:
                            if b'"error"' in ev and b'"choices"' not in ev:
                                r.error = "error event"
                                done = True
                                break
                            if _has_content(ev):
                                first = now
                                last = now
                                r.ttft_ms = (now - t0) * 1000
                            continue
                        gap = now - last
                        last = now
                        r.gaps.append(gap * 1000)
                        if gap > stall_s:
                            r.stalled = True
                    if done:
                        break
                if r.error is None:
                    if not done:
                        r.error = "no [DONE]"
                    elif first is None:
                        r.error = "no content"
                    else:
                        r.ok = True
            finally:
                resp.release()
    except TimeoutError:
        r.error = "timeout"
    except aiohttp.ClientError as e:
        r.error = type(e).__name__
    except OSError as e:
        r.error = f"OSError {e.errno}"
    r.end = time.monotonic()
    r.total_ms = (r.end - t0) * 1000
    return r, closed_at


class RawConn(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection driven by callbacks: the cheap path for thousands of streams.

    aiohttp's streaming reader cost ~30 us of generator CPU per SSE event here (measured), enough to
    saturate the generator at 1 000 streams x 50 events/s; this protocol parses the response with
    httptools and does O(1) work per read once the first content event has been seen.
    """

    def __init__(self, stall_s: float, extra_headers: bytes = b"") -> None:
        self.extra_headers = extra_headers
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.stall_s = stall_s
        self.fut: asyncio.Future[StreamResult] | None = None
        self.r = StreamResult(ok=False)
        self.t0 = 0.0
        self.now = 0.0
        self.last = 0.0
        self.first = False
        self.buf = b""
        self.done = False
        self.keep_alive = True
        self.closed = False
        self.status = 0
        self.hangup_after: int | None = None
        self.after = 0
        self.closed_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.fut is not None and not self.fut.done():
            self.r.error = "connection lost"
            self.fut.set_result(self.r)

    def request(self, host: str, path: str, body: bytes) -> asyncio.Future[StreamResult]:
        assert self.transport is not None
        self.fut = asyncio.get_running_loop().create_future()
        self.r = StreamResult(ok=False)
        self.first = False
        self.buf = b""
        self.done = False
        self.status = 0
        self.parser = httptools.HttpResponseParser(self)
        self.t0 = time.monotonic()
        self.transport.write(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer bench\r\nAccept: text/event-stream\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path.encode(), host.encode(), self.extra_headers, len(body), body)
        )
        return self.fut

    def data_received(self, data: bytes) -> None:
        self.now = time.monotonic()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.r.error = "bad http"
            self._finish()

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        if self.status != 200:
            self.r.error = f"http {self.status}"

    def on_body(self, body: bytes) -> None:
        if self.r.error is not None:
            return
        if b"\r" in body:
            body = body.replace(b"\r\n", b"\n")
        buf = self.buf + body
        idx = buf.rfind(b"\n\n")
        if idx < 0:
            self.buf = buf
            return
        complete = buf[: idx + 2]
        self.buf = buf[idx + 2 :]
        now = self.now
        r = self.r
        if not self.first:
            for ev in complete.split(b"\n\n"):
                if not ev.startswith(b"data:"):
                    continue
                if b"[DONE]" in ev[:12]:
                    self.done = True
                    break
                r.events += 1
                if not self.first:
                    if b'"error"' in ev and b'"choices"' not in ev:
                        r.error = "error event"
                        return
                    if _has_content(ev):
                        self.first = True
                        self.last = now
                        r.ttft_ms = (now - self.t0) * 1000
                else:
                    r.gaps.append((now - self.last) * 1000)
                    self.last = now
                    self.after += 1
            if self.hangup_after is not None and self.first and self.after >= self.hangup_after:
                self.hang_up()
            return
        n = complete.count(b"data:")
        if b"[DONE]" in complete:
            self.done = True
            n -= 1
        if n <= 0:
            return
        r.events += n
        gap = now - self.last
        self.last = now
        r.gaps.append(gap * 1000)
        if gap > self.stall_s:
            r.stalled = True
        if n > 1:
            r.gaps.extend([0.0] * (n - 1))
        if self.hangup_after is not None:
            self.after += n
            if self.after >= self.hangup_after:
                self.hang_up()

    def hang_up(self) -> None:
        """Close like a caller hanging up: FIN goes out synchronously, then the transport is dropped."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        self.closed_at = time.monotonic()  # before the FIN: the peer may see it before we return
        with contextlib.suppress(OSError), socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM) as dup:
            dup.shutdown(socket.SHUT_RDWR)  # uvloop's transport socket has no shutdown(); a dup does
        self.transport.abort()
        self.closed = True
        self.r.ok = True
        self._finish()

    def on_message_complete(self) -> None:
        r = self.r
        if r.error is None:
            if not self.done:
                r.error = "no [DONE]"
            elif not self.first:
                r.error = "no content"
            else:
                r.ok = True
        self._finish()

    def _finish(self) -> None:
        self.r.end = self.now or time.monotonic()
        self.r.total_ms = (self.r.end - self.t0) * 1000
        if self.fut is not None and not self.fut.done():
            self.fut.set_result(self.r)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


async def raw_stream(
    conn: RawConn | None, host: str, port: int, path: str, o: Opts, tag: str
) -> tuple[StreamResult, RawConn | None]:
    """One stream on a kept-alive raw connection (opened or re-opened as needed)."""
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(o.stream_timeout_s):
            if conn is None or conn.closed:
                _, conn = await loop.create_connection(lambda: RawConn(o.stall_ms / 1000, o.raw_extra), host, port)
            fut = conn.request(host, path, body_for(o.model, tag, True))
            r = await fut
            r.total_ms = (r.end - t0) * 1000  # include the connect when there was one
    except TimeoutError:
        r = StreamResult(ok=False, error="timeout", end=time.monotonic())
        r.total_ms = (r.end - t0) * 1000
        if conn is not None:
            conn.abort()
        return r, None
    except OSError as e:
        r = StreamResult(ok=False, error=f"connect OSError {e.errno}", end=time.monotonic())
        return r, None
    if r.ttft_ms is not None and conn.t0 > t0:
        r.ttft_ms += (conn.t0 - t0) * 1000
    if not r.ok or not conn.keep_alive:
        conn.abort()
        return r, None
    return r, conn


class LagMonitor:
    """Measures how late a 10 ms sleep wakes up: the generator's own event-loop lag."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            self.lags.append((time.monotonic() - t - 0.01) * 1000)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def connector(limit: int, force_close: bool = False) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=force_close, ttl_dns_cache=None)


def summarise(results: list[StreamResult]) -> dict[str, Any]:
    ttft = [r.ttft_ms for r in results if r.ttft_ms is not None]
    gaps = [g for r in results for g in r.gaps]
    return {
        "streams": len(results),
        "ok": sum(r.ok for r in results),
        "errors": sum(r.error is not None for r in results),
        "stalled_streams": sum(r.stalled for r in results),
        "ttft_p50": pct(ttft, 50),
        "ttft_p99": pct(ttft, 99),
        "gap_p50": pct(gaps, 50),
        "gap_p99": pct(gaps, 99),
        "gap_max": max(gaps) if gaps else None,
    }


async def run_stream(o: Opts, soak: bool) -> dict[str, Any]:
    results: list[StreamResult] = []
    inflight = 0
    peak = 0
    deadline = time.monotonic() + (o.duration_s if soak else o.max_s)
    async with aiohttp.ClientSession(connector=connector(o.concurrency), timeout=aiohttp.ClientTimeout()) as s:
        t_start = time.monotonic()

        u = urlsplit(o.url)
        host, port, path = u.hostname or "127.0.0.1", u.port or 80, u.path

        async def worker(i: int) -> None:
            nonlocal inflight, peak
            if o.concurrency > 1 and o.ramp_s > 0:
                await asyncio.sleep(o.ramp_s * i / o.concurrency)
            n = 0
            conn: RawConn | None = None
            try:
                while time.monotonic() < deadline and (soak or n < o.streams_per_worker):
                    n += 1
                    inflight += 1
                    peak = max(peak, inflight)
                    tag = f"{o.run_id}-{i}-{n}"
                    if o.client == "raw":
                        res, conn = await raw_stream(conn, host, port, path, o, tag)
                    else:
                        res, _ = await one_stream(s, o, tag)
                    inflight -= 1
                    if soak:  # a 10-minute soak holds ~8M gaps: 4-byte floats, not Python objects
                        res.gaps = array("f", res.gaps)  # type: ignore[assignment]
                    results.append(res)
                    if n > 100_000:
                        break
            finally:
                if conn is not None:
                    conn.abort()

        tasks = [asyncio.create_task(worker(i)) for i in range(o.concurrency)]
        hard = (o.duration_s + o.stream_timeout_s + 5) if soak else o.max_s
        _done, pending = await asyncio.wait(tasks, timeout=hard)
        for t in pending:
            t.cancel()
        cancelled = len(pending)
        if pending:
            await asyncio.wait(pending)
        t_end = time.monotonic()
    out: dict[str, Any] = {
        "peak_inflight": peak,
        "wall_s": t_end - t_start,
        "t_start": t_start,
        "t_end": t_end,
        "cancelled_workers": cancelled,
        "errors_by_kind": dict(Counter(r.error for r in results if r.error)),
    }
    out.update(summarise(results))
    if soak:
        windows: list[dict[str, Any]] = []
        w = 0
        while t_start + w * o.window_s < t_end:
            lo, hi = t_start + w * o.window_s, t_start + (w + 1) * o.window_s
            sel = [r for r in results if lo <= r.end < hi]
            d = summarise(sel)
            d["minute"] = w
            windows.append(d)
            w += 1
        out["windows"] = windows
    else:
        out["ttft"] = [round(r.ttft_ms, 3) for r in results if r.ttft_ms is not None]
        out["gaps"] = [round(g, 3) for r in results for g in r.gaps]
        out["total"] = [round(r.total_ms, 1) for r in results if r.ok]
    return out


async def run_nonstream(o: Opts) -> dict[str, Any]:
    lat: list[float] = []
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + min(o.duration_s, o.max_s)
    # bench-pacing:0 asks the mock for an instant answer even when a server streams from its upstream.
    body = body_for(o.model, f"{o.run_id}-ns bench-pacing:0", False)
    async with aiohttp.ClientSession(connector=connector(o.concurrency), timeout=aiohttp.ClientTimeout()) as s:
        t_start = time.monotonic()

        async def worker() -> None:
            n = 0
            while time.monotonic() < deadline and n < 1_000_000:
                n += 1
                t = time.monotonic()
                try:
                    async with asyncio.timeout(o.stream_timeout_s):
                        async with s.post(o.url, data=body, headers=o.all_headers) as resp:
                            data = await resp.read()
                            if resp.status != 200 or b'"choices"' not in data:
                                errors[f"http {resp.status}"] += 1
                                continue
                except TimeoutError:
                    errors["timeout"] += 1
                    continue
                except (aiohttp.ClientError, OSError) as e:
                    errors[type(e).__name__] += 1
                    await asyncio.sleep(0.01)
                    continue
                lat.append((time.monotonic() - t) * 1000)

        await asyncio.wait(
            [asyncio.create_task(worker()) for _ in range(o.concurrency)],
            timeout=o.max_s + o.stream_timeout_s,
        )
        wall = time.monotonic() - t_start
    return {
        "requests_ok": len(lat),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "wall_s": wall,
        "rps": len(lat) / wall if wall > 0 else 0.0,
        "lat_p50": pct(lat, 50),
        "lat_p99": pct(lat, 99),
    }


async def run_hangup(o: Opts) -> dict[str, Any]:
    closes: dict[str, float] = {}
    errors: Counter[str] = Counter()
    sem = asyncio.Semaphore(max(1, o.concurrency))
    u = urlsplit(o.url)
    host, port, path = u.hostname or "127.0.0.1", u.port or 80, u.path
    loop = asyncio.get_running_loop()

    async def one(i: int) -> None:
        tag = f"hup-{o.run_id}-{i}"
        async with sem:
            try:
                async with asyncio.timeout(o.stream_timeout_s):
                    _, conn = await loop.create_connection(lambda: RawConn(o.stall_ms / 1000, o.raw_extra), host, port)
                    conn.hangup_after = o.hangup_after
                    r = await conn.request(host, path, body_for(o.model, tag, True))
            except TimeoutError:
                errors["timeout"] += 1
                return
            except OSError as e:
                errors[f"OSError {e.errno}"] += 1
                return
            if conn.closed_at is not None:
                closes[tag] = conn.closed_at
            else:
                errors[r.error or "ended before the hang-up"] += 1
                conn.abort()

    await asyncio.wait([asyncio.create_task(one(i)) for i in range(o.count)], timeout=o.max_s)
    return {"closes": closes, "errors": sum(errors.values()), "errors_by_kind": dict(errors)}


async def amain(o: Opts) -> dict[str, Any]:
    lag = LagMonitor()
    lag.start()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.monotonic()
    if o.mode in ("stream", "soak"):
        out = await run_stream(o, soak=o.mode == "soak")
    elif o.mode == "nonstream":
        out = await run_nonstream(o)
    elif o.mode == "hangup":
        out = await run_hangup(o)
    else:
        raise SystemExit(f"unknown mode {o.mode}")
    await lag.stop()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - w0
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out["loadgen"] = {
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_util": cpu / wall if wall > 0 else 0.0,
        "loop_lag_p50_ms": pct(lag.lags, 50),
        "loop_lag_p99_ms": pct(lag.lags, 99),
        "loop_lag_max_ms": max(lag.lags) if lag.lags else None,
    }
    out["mode"] = o.mode
    out["concurrency"] = o.concurrency
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="convoai-llm bench load generator")
    ap.add_argument("--url", required=True, help="full chat completions URL")
    ap.add_argument("--mode", default="stream", choices=["stream", "soak", "nonstream", "hangup"])
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--streams-per-worker", type=int, default=1)
    ap.add_argument("--ramp-s", type=float, default=1.3)
    ap.add_argument("--stall-ms", type=float, default=200.0)
    ap.add_argument("--duration-s", type=float, default=10.0)
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--hangup-after", type=int, default=2)
    ap.add_argument("--max-s", type=float, default=120.0, help="hard cap for the whole run")
    ap.add_argument("--stream-timeout-s", type=float, default=30.0)
    ap.add_argument("--model", default="mock-gpt")
    ap.add_argument("--run-id", default="r")
    ap.add_argument("--client", default="raw", choices=["raw", "aiohttp"], help="stream/soak client")
    ap.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="extra request header")
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    o = Opts(
        url=a.url,
        mode=a.mode,
        concurrency=a.concurrency,
        streams_per_worker=a.streams_per_worker,
        ramp_s=a.ramp_s,
        stall_ms=a.stall_ms,
        duration_s=a.duration_s,
        window_s=a.window_s,
        count=a.count,
        hangup_after=a.hangup_after,
        max_s=a.max_s,
        model=a.model,
        stream_timeout_s=a.stream_timeout_s,
        run_id=a.run_id,
        client=a.client,
        headers={k.strip(): v.strip() for k, v in (h.split(":", 1) for h in a.header)},
    )
    import uvloop

    out = uvloop.run(amain(o))
    data = orjson.dumps(out)
    if a.out == "-":
        sys.stdout.buffer.write(data + b"\n")
    else:
        with open(a.out, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
