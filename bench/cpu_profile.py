"""Where the chat route's CPU goes: cProfile with `time.thread_time` (CPU time, not wall time) inside a real
convoai-llm server, behind the harness's mock upstream, for a number of streaming requests.

`run` starts the mock (`--deltas` content deltas per stream, `--pacing-ms` apart), the server under the
profiler (`serve`, below: the profile is switched on after a warm-up by SIGUSR1 and written by SIGUSR2),
sends `--requests` streams at 16 concurrent, and prints the top functions and the **Python function calls
per request** (the profiler's count: the same for the same code whatever the machine's load, unlike CPU
seconds). `compare A B N` prints a few parts of two saved profiles side by side, in profiled µs per request
(cProfile's own overhead included, so small functions look dearer than they are).

    .venv/bin/python bench/cpu_profile.py run --out /tmp/after.pstats --requests 3000
    PYTHONPATH=/tmp/main-src/src .venv/bin/python bench/cpu_profile.py run --out /tmp/before.pstats --requests 3000
    .venv/bin/python bench/cpu_profile.py compare /tmp/before.pstats /tmp/after.pstats 3000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hotpath_bench import load
from bench.procs import free_port, raise_nofile, spawn, wait_healthy
from bench.targets import start_mock

PARTS = {
    "uvicorn `RequestResponseCycle.send`": "httptools_impl.py:463(send)",
    "aiohttp `ClientSession._request`": "client.py:558(_request)",
    "`read_body`": "body.py:12(read_body)",
    "`parse_chat_request`": "(parse_chat_request)",
    "`provider_request`": "(provider_request)",
    "`too_deep`": "(too_deep)",
    "`uuid4`": "(uuid4)",
    "prometheus `labels()`": "(labels)",
    "`asyncio.create_task`": "(create_task)",
    "`first_done` (the SSE wait loop)": "(first_done)",
    "Starlette `requests.py` (Request, headers, body stream)": "starlette/requests.py",
}


def serve(out: str, argv: list[str]) -> None:
    """The convoai-llm CLI with a CPU-time profiler switched on and off by signals."""
    import cProfile

    from convoai_llm.cli import main

    prof = cProfile.Profile(time.thread_time)

    def dump(*_: object) -> None:
        prof.disable()
        prof.dump_stats(out)

    signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
    signal.signal(signal.SIGUSR2, dump)
    sys.argv = ["convoai-llm", *argv]
    main()


def run(out: str, requests: int, deltas: int, pacing_ms: float) -> None:
    raise_nofile()
    logs = Path(tempfile.mkdtemp(prefix="cpu-profile-"))
    mock, mock_base = start_mock(logs, pacing_ms, deltas)
    port = free_port()
    env = {"OPENAI_BASE_URL": f"{mock_base}/v1", "OPENAI_API_KEY": "bench", "CONVOAI_PROVIDER": "openai",
           "CONVOAI_LOG_LEVEL": "warning"}  # fmt: skip
    # As a module: run as a script, `bench/` would lead sys.path and its `profile.py` would shadow the stdlib's.
    cmd = [sys.executable, "-m", "bench.cpu_profile", "serve", out, "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = spawn("convoai-llm-profiled", cmd, logs, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(server, f"{url}/healthz", 90)
        asyncio.run(load(f"{url}/v1/chat/completions", 200, 16))  # warm-up: pool, caches
        os.kill(server.pid, signal.SIGUSR1)
        time.sleep(0.3)
        asyncio.run(load(f"{url}/v1/chat/completions", requests, 16))
        os.kill(server.pid, signal.SIGUSR2)
        time.sleep(1.0)
    finally:
        server.stop()
        mock.stop()
    stats = pstats.Stats(out)
    calls = sum(nc for (_, nc, _, _, _) in stats.stats.values())  # type: ignore[attr-defined]
    print(f"load average {os.getloadavg()[0]:.2f}; {requests} requests, {deltas} deltas, pacing {pacing_ms:g} ms")
    print(f"profiled CPU per request: {stats.total_tt / requests * 1e6:.0f} µs")  # type: ignore[attr-defined]
    print(f"Python function calls per request: {calls / requests:.0f}")
    stats.sort_stats("tottime").print_stats(30)


def part(stats: pstats.Stats, pattern: str) -> float:
    rows = stats.stats.items()  # type: ignore[attr-defined]
    return float(sum(ct for (f, line, name), (_, _, _, ct, _) in rows if pattern in f"{f}:{line}({name})"))


def compare(before: str, after: str, requests: int) -> None:
    a, b = pstats.Stats(before), pstats.Stats(after)
    calls = [sum(v[1] for v in s.stats.values()) / requests for s in (a, b)]  # type: ignore[attr-defined]
    print("| part | before, profiled µs per request | after |\n|---|---|---|")
    print(f"| Python function calls per request | {calls[0]:.0f} | {calls[1]:.0f} |")
    total = [s.total_tt / requests * 1e6 for s in (a, b)]  # type: ignore[attr-defined]
    print(f"| all (CPU time, profiler included) | {total[0]:.0f} | {total[1]:.0f} |")
    for name, pattern in PARTS.items():
        print(f"| {name} | {part(a, pattern) / requests * 1e6:.0f} | {part(b, pattern) / requests * 1e6:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--requests", type=int, default=3000)
    r.add_argument("--deltas", type=int, default=0)
    r.add_argument("--pacing-ms", type=float, default=0.0)
    s = sub.add_parser("serve")
    s.add_argument("out")
    s.add_argument("argv", nargs=argparse.REMAINDER)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("requests", type=int)
    args = ap.parse_args()
    if args.cmd == "serve":
        serve(args.out, args.argv)
    elif args.cmd == "run":
        run(args.out, args.requests, args.deltas, args.pacing_ms)
    else:
        compare(args.before, args.after, args.requests)


if __name__ == "__main__":
    main()
