"""The chat route's hot path in isolation: server CPU per request and per relayed chunk, and a profile.

Starts the harness's mock upstream (`bench/mock_upstream.py`, no pacing) twice — once answering with
0 content deltas, once with `--deltas` — and a convoai-llm server against each, then sends the same
number of streaming requests to both from this process (aiohttp, `--concurrency` at a time). The
server's CPU time (psutil, user + system) over the run gives:

- CPU per request = CPU(0 deltas) / requests   (role, finish and usage chunks included);
- CPU per relayed chunk = (CPU(D deltas) - CPU(0 deltas)) / (requests * D).

With `--pacing-ms` the mock paces the deltas, so each upstream read holds one chunk (no batching).

It also times the first content byte of `--sequential` one-at-a-time streams through the server and
directly at the mock (added TTFT p50), and, with `--profile`, records the server with py-spy during a
second pass of each and prints the summary tables (`bench/profile.py`). py-spy counts the event loop's
own native time (including its idle wait in epoll) as `Runner.run`.

Run: `.venv/bin/python bench/hotpath_bench.py --requests 2000 --deltas 64 --profile`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import psutil

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import raise_nofile
from bench.profile import summarise_collapsed
from bench.targets import MOCK_MODEL, Target, convoai, floor_relay, start_mock

BODY = orjson.dumps(
    {"model": MOCK_MODEL, "stream": True, "stream_options": {"include_usage": True},
     "messages": [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Hello there!"}]}
)  # fmt: skip


@dataclass
class Pass:
    requests: int
    cpu_s: float
    wall_s: float
    chunks: int


async def one_stream(session: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    """One streaming request: the SSE events received and seconds to the first content delta."""
    t0 = time.perf_counter()
    first = 0.0
    events = 0
    async with session.post(url, data=BODY, headers={"Content-Type": "application/json"}) as resp:
        resp.raise_for_status()
        async for line in resp.content:
            if line.startswith(b"data: "):
                events += 1
                if not first and b'"content":"' in line and b'"content":""' not in line:
                    first = time.perf_counter() - t0
    return events, first


async def load(url: str, requests: int, concurrency: int) -> int:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        left = iter(range(requests))
        counts: list[int] = []

        async def worker() -> None:
            for _ in left:
                events, _ = await one_stream(session, url)
                counts.append(events)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sum(counts)


def measure(target: Target, requests: int, concurrency: int) -> Pass:
    proc = psutil.Process(target.sample_pids[0])
    asyncio.run(load(target.url, min(requests, 50), concurrency))  # warm-up: pool, caches
    before = proc.cpu_times()
    t0 = time.perf_counter()
    chunks = asyncio.run(load(target.url, requests, concurrency))
    wall = time.perf_counter() - t0
    after = proc.cpu_times()
    cpu = (after.user + after.system) - (before.user + before.system)
    return Pass(requests, cpu, wall, chunks)


async def ttfts(url: str, n: int) -> list[float]:
    async with aiohttp.ClientSession() as session:
        for _ in range(10):
            await one_stream(session, url)
        return [(await one_stream(session, url))[1] for _ in range(n)]


def profile(target: Target, requests: int, concurrency: int, out: Path) -> dict[str, object]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = out / "hotpath.raw"
    cmd = [spy, "record", "--format", "raw", "--rate", "250", "--nonblocking", "-o", str(raw)]
    rec = subprocess.Popen([*cmd, "--pid", str(target.sample_pids[0])], stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    asyncio.run(load(target.url, requests, concurrency))
    rec.send_signal(2)  # SIGINT: py-spy writes what it has and exits
    rec.wait(30)
    return summarise_collapsed(raw.read_text(), top=20)


def run_pair(deltas: int, args: argparse.Namespace, logs: Path) -> tuple[Pass, Target, list[float], list[float]]:
    mock, mock_base = start_mock(logs / f"d{deltas}", args.pacing_ms if deltas else 0.0, deltas)
    if args.floor:
        target = floor_relay(mock_base, logs / f"d{deltas}")
    else:
        target = convoai(mock_base, logs / f"d{deltas}", extra_env={"CONVOAI_LOG_LEVEL": "warning"})
    try:
        result = measure(target, args.requests, args.concurrency)
        via = asyncio.run(ttfts(target.url, args.sequential)) if deltas else []
        direct = asyncio.run(ttfts(f"{mock_base}/v1/chat/completions", args.sequential)) if deltas else []
        if args.profile:
            summary = profile(target, args.requests, args.concurrency, logs)
            print(f"\n### profile, {deltas} deltas per stream")
            print_profile(summary)
        return result, target, via, direct
    finally:
        target.stop()
        mock.stop()


def print_profile(summary: dict[str, object]) -> None:
    print(f"\npy-spy samples: {summary['samples']}")
    for key in ("self_by_package", "self_by_function", "inclusive_by_function"):
        print(f"\n| {key.replace('_', ' ')} | % |\n|---|---|")
        rows = summary[key]
        assert isinstance(rows, list)
        for name, pct in rows:
            print(f"| `{name}` | {pct} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--deltas", type=int, default=64)
    ap.add_argument(
        "--pacing-ms", type=float, default=0.0,
        help="the mock's gap between deltas: 0 sends a stream at once (many chunks per upstream read, one write "
        "each batch); a few ms gives one chunk per read (the per-chunk cost without batching)",
    )  # fmt: skip
    ap.add_argument("--sequential", type=int, default=200, help="one-at-a-time streams for the TTFT figure")
    ap.add_argument("--profile", action="store_true", help="py-spy the server during a second pass")
    ap.add_argument("--floor", action="store_true", help="measure the bare reference relay (bench/floor_relay.py)")
    args = ap.parse_args(argv)
    raise_nofile()
    logs = Path(tempfile.mkdtemp(prefix="hotpath-bench-"))
    load_before = os.getloadavg()
    base, _, _, _ = run_pair(0, args, logs)
    full, _, via, direct = run_pair(args.deltas, args, logs)
    per_request_ms = base.cpu_s / base.requests * 1000
    per_chunk_us = (full.cpu_s - base.cpu_s) / (full.requests * args.deltas) * 1e6
    added = [(v - d) * 1000 for v, d in zip(sorted(via), sorted(direct), strict=True)]
    print(f"\nload average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(f"requests {base.requests} x concurrency {args.concurrency}, {args.deltas} deltas per stream, "
          f"pacing {args.pacing_ms:g} ms")  # fmt: skip
    print(f"server CPU, 0 deltas: {base.cpu_s:.2f} s ({base.requests / base.wall_s:.0f} streams/s)")
    print(f"server CPU, {args.deltas} deltas: {full.cpu_s:.2f} s ({full.chunks} SSE events received)")
    print(f"CPU per request: {per_request_ms:.3f} ms")
    print(f"CPU per relayed chunk: {per_chunk_us:.1f} µs")
    if via:
        print(f"TTFT p50 at 1 stream: via {statistics.median(via) * 1000:.2f} ms, "
              f"direct {statistics.median(direct) * 1000:.2f} ms, added {statistics.median(added):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
