"""Upstream client comparison: aiohttp vs httpx streaming the same mock, as the proxy's upstream leg.

Each client opens `--streams` concurrent streaming requests (role + 64 deltas paced 20 ms) from one
pooled client in one process and reads them line by line as the proxy does. Reported per client: CPU
time per received chunk (the cost the proxy pays on its upstream side), wall time, and the p99 lateness
of a chunk against its pacing. Run: `.venv/bin/python -m bench.clients [--streams 256]`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import orjson

from bench.procs import PY, free_port

BODY = orjson.dumps({"model": "mock-gpt", "stream": True, "messages": [{"role": "user", "content": "hi"}]})


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def with_aiohttp(url: str, n: int, gaps: list[float]) -> int:
    chunks = 0
    connector = aiohttp.TCPConnector(limit=n + 8)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal chunks
            async with session.post(url, data=BODY, headers={"Content-Type": "application/json"}) as resp:
                last = time.perf_counter()
                async for _line in resp.content:
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now
                    chunks += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return chunks


async def with_httpx(url: str, n: int, gaps: list[float]) -> int:
    chunks = 0
    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one() -> None:
            nonlocal chunks
            async with client.stream("POST", url, content=BODY, headers={"Content-Type": "application/json"}) as resp:
                last = time.perf_counter()
                async for _line in resp.aiter_lines():
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now
                    chunks += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return chunks


CLIENTS: dict[str, Callable[[str, int, list[float]], Awaitable[int]]] = {"aiohttp": with_aiohttp, "httpx": with_httpx}


def run_one(name: str, url: str, n: int) -> dict[str, float]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    gaps: list[float] = []
    c0, t0 = cpu(), time.perf_counter()
    chunks = asyncio.run(CLIENTS[name](url, n, gaps))
    c1, t1 = cpu(), time.perf_counter()
    gaps_ms = sorted(g * 1000 for g in gaps if g > 0.0005)  # blank SSE lines arrive with their data line
    p99 = gaps_ms[int(len(gaps_ms) * 0.99) - 1] if gaps_ms else 0.0
    return {"chunks": chunks, "cpu_us_per_chunk": (c1 - c0) / max(chunks, 1) * 1e6, "wall_s": t1 - t0,
            "gap_p50_ms": statistics.median(gaps_ms) if gaps_ms else 0.0, "gap_p99_ms": p99}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=256)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(orjson.dumps(run_one(args.child, args.url, args.streams)).decode())
        return
    port = free_port()
    mock = subprocess.Popen([PY, "-m", "bench.mock_upstream", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert mock.stdout is not None and "READY" in mock.stdout.readline()
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        print("| client | streams | chunks | CPU µs per chunk | wall s | gap p50 / p99 ms |\n|---|---|---|---|---|---|")
        for name in CLIENTS:  # each client in its own process, so CPU time is its own
            cmd = [PY, "-m", "bench.clients", "--child", name, "--url", url, "--streams", str(args.streams)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = orjson.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {name} | {args.streams} | {r['chunks']} | {r['cpu_us_per_chunk']:.1f} | {r['wall_s']:.2f} | "
                  f"{r['gap_p50_ms']:.1f} / {r['gap_p99_ms']:.1f} |")  # fmt: skip
    finally:
        mock.terminate()
        mock.wait(10)


if __name__ == "__main__":
    sys.exit(main())
