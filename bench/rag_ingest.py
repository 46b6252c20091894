"""Ingest bench: `kb add` of many documents through the real command while a real server answers.

    .venv/bin/python bench/rag_ingest.py --docs 10000

Writes ``--docs`` synthetic documents (the distractor text of ``bench/rag_bench.py``, 1-3 chunks each) into
a temporary folder, starts ``convoai-llm serve`` on a free loopback port over a KB seeded with the sample
documents (its upstream: ``bench/mock_upstream.py``, answering at once), measures ``GET /v1/kb/search``
(retrieval, query embedding included), ``POST /rag/chat/completions`` (non-streaming: retrieval, prompt,
the mock's answer) and ``GET /healthz`` before and during a ``convoai-llm kb add`` of the folder into the
same KB, then prints the ingest rate, the ``kb add`` process's CPU seconds per chunk, and the latency sets.
Everything runs on this machine's cores; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rag_bench import EXAMPLES, distractor  # noqa: E402

BIN = Path(sys.executable).parent
MOCK_ANSWER = ["--deltas", "4", "--pacing-ms", "0"]  # the upstream answers at once
QUESTIONS = ["How much does the Day Pass cost?", "北门服务中心几点营业", "My e-bike is stuck", "轮胎被扎破了"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_docs(folder: Path, count: int) -> None:
    rng = random.Random(11)
    for n in range(count):
        parts = [distractor(rng, n * 3 + i) for i in range(rng.randint(1, 3))]
        (folder / f"doc{n:05d}.md").write_text(f"# Document {n}\n\n" + "\n\n".join(parts), encoding="utf-8")


def sample(client: httpx.Client, stop: threading.Event, out: dict[str, list[float]]) -> None:
    n = 0
    while not stop.is_set():
        question = QUESTIONS[n % len(QUESTIONS)]
        chat = {"messages": [{"role": "user", "content": question}], "model": "mock", "stream": False}
        for method, path, body in (
            ("GET", f"/v1/kb/search?q={question}&k=3", None),
            ("POST", "/rag/chat/completions", chat),
            ("GET", "/healthz", None),
        ):
            started = time.perf_counter()
            response = client.request(method, path, json=body)
            response.raise_for_status()
            out.setdefault(path.split("?")[0], []).append((time.perf_counter() - started) * 1000)
        n += 1
        stop.wait(0.1)


def summary(label: str, timings: dict[str, list[float]]) -> None:
    for path, values in timings.items():
        values.sort()
        p95 = values[int(len(values) * 0.95)]
        print(
            f"  {label:14s} {path:22s} n={len(values):4d}  p50 {statistics.median(values):6.1f} ms  p95 {p95:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        docs, db = Path(folder) / "docs", Path(folder) / "kb.sqlite3"
        docs.mkdir()
        write_docs(docs, args.docs)
        # The mock upstream answers the RAG chats at once: the figures are the server's own work.
        upstream_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-m", "bench.mock_upstream", "--port", str(upstream_port), *MOCK_ANSWER],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        env = {
            **os.environ,
            "CONVOAI_KB_PATH": str(db),
            "CONVOAI_RAG_REFRESH_INTERVAL_S": "2",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
            "OPENAI_API_KEY": "bench",
        }
        subprocess.run([BIN / "convoai-llm", "kb", "add", str(EXAMPLES), "--db", str(db)], env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [BIN / "convoai-llm", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                for _ in range(600):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.5)
                else:
                    raise SystemExit("the server did not start within 5 minutes")
                before: dict[str, list[float]] = {}
                stop = threading.Event()
                thread = threading.Thread(target=sample, args=(client, stop, before))
                thread.start()
                time.sleep(10)
                stop.set()
                thread.join()
                during: dict[str, list[float]] = {}
                stop = threading.Event()
                thread = threading.Thread(target=sample, args=(client, stop, during))
                thread.start()
                started = time.perf_counter()
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                done = subprocess.run(
                    [BIN / "convoai-llm", "kb", "add", str(docs), "--db", str(db)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds = time.perf_counter() - started
                cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                stop.set()
                thread.join()
        finally:
            server.terminate()
            server.wait(timeout=20)
            upstream.terminate()
            upstream.wait(timeout=20)
        print(done.stdout.strip())
        chunks = int(done.stdout.split("(")[1].split()[0])
        print(
            f"kb add of {args.docs} documents: {seconds:.1f} s, {chunks} chunks, {chunks / seconds:.0f} chunks/s "
            f"(process start and model load included); load average {os.getloadavg()[0]:.1f}"
        )
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        print(
            f"kb add process CPU: {cpu:.1f} s = {cpu / chunks * 1000:.2f} ms per chunk, {cpu / seconds:.2f} cores busy "
            f"on average; at this CPU cost 2 idle cores would ingest {2 * chunks / cpu:.0f} chunks/s"
        )
        summary("before ingest", before)
        summary("during ingest", during)


if __name__ == "__main__":
    main()
