"""`convoai-llm serve` as a real process: h2c callers (curl --http2, Java's HttpClient), HTTP/1.0, the
open-file limit at start-up, and `--workers 2` on SO_REUSEPORT sockets."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
from tests.server.conftest import BIN, Served, start_serve, stop_serve
from tests.servers import MockUpstream

JAVA_CLIENT = Path(__file__).parent / "java" / "Client.java"
STREAM = orjson.dumps({"model": "mock-stream", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
# uvicorn re-raises SIGTERM after its graceful shutdown, so a single process ends "killed by SIGTERM".
GRACEFUL = (0, -signal.SIGTERM)
NON_STREAM = orjson.dumps({"model": "mock-stream", "messages": [{"role": "user", "content": "hi"}]})


@pytest.fixture(scope="module")
def served(upstream: MockUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(upstream, tmp_path_factory.mktemp("serve") / "serve.log")
    yield server
    assert stop_serve(server) in GRACEFUL
    text = server.log.read_text()
    assert "sk-server-test-key" not in text and "Finished server process" in text


def streamed_text(sse: str) -> str:
    text = ""
    for line in sse.splitlines():
        if line.startswith("data: {"):
            for choice in orjson.loads(line[6:]).get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text


def answer_text(body: bytes, response: str) -> str:
    """The answer in a response body to `body`: the streamed deltas, or the JSON message."""
    if b'"stream":true' in body:
        return streamed_text(response)
    content: str = orjson.loads(response)["choices"][0]["message"]["content"]
    return content


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("body", [STREAM, NON_STREAM], ids=["stream", "non-stream"])
def test_curl_http2_offer_on_http_is_answered(served: Served, upstream: MockUpstream, body: bytes) -> None:
    out = subprocess.run(
        ["curl", "-sS", "-N", "--http2", "-D", "-", f"{served.url}/v1/chat/completions",
         "-H", "Content-Type: application/json", "--data-binary", body.decode()],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    head, _, rest = out.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 200"), out.stdout
    assert answer_text(body, rest) == upstream.text


@pytest.mark.skipif(shutil.which("java") is None, reason="java is not installed (Debian: openjdk-17-jdk-headless)")
@pytest.mark.parametrize("body", [STREAM, NON_STREAM], ids=["stream", "non-stream"])
def test_java_httpclient_default_settings(served: Served, upstream: MockUpstream, body: bytes) -> None:
    out = subprocess.run(["java", str(JAVA_CLIENT), f"{served.url}/v1/chat/completions", body.decode()],
                         capture_output=True, text=True, timeout=90)  # fmt: skip
    assert out.returncode == 0, out.stderr
    first, _, rest = out.stdout.partition("\n")
    assert first == "HTTP_1_1 200", out.stdout
    assert answer_text(body, rest) == upstream.text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_http10_stream_is_close_delimited(served: Served, upstream: MockUpstream) -> None:
    out = subprocess.run(
        ["curl", "-sS", "-N", "--http1.0", "-D", "-", f"{served.url}/v1/chat/completions",
         "-H", "Content-Type: application/json", "--data-binary", STREAM.decode()],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    head, _, rest = out.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert "transfer-encoding" not in head.lower() and "connection: close" in head.lower()
    assert streamed_text(rest) == upstream.text and rest.rstrip().endswith("data: [DONE]")


def test_open_file_limit_raised_and_logged(upstream: MockUpstream, tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard open-file limit here is {hard}: there is nothing to raise")
    log = tmp_path / "serve.log"
    server = start_serve(upstream, log, soft_nofile=1024)
    try:
        soft = psutil.Process(server.proc.pid).rlimit(psutil.RLIMIT_NOFILE)[0]
        assert soft == (hard if hard != resource.RLIM_INFINITY else 1 << 20)
    finally:
        assert stop_serve(server) in GRACEFUL
    assert f"open-file limit raised from 1024 to {soft}" in log.read_text()


def listening_workers(server: Served, port: int) -> list[psutil.Process]:
    """The supervisor's children with a listening socket on the port (not multiprocessing's resource tracker)."""
    found = []
    for child in psutil.Process(server.proc.pid).children():
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections("tcp")):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_workers_2_share_the_port_with_reuseport(upstream: MockUpstream, tmp_path: Path) -> None:
    server = start_serve(upstream, tmp_path / "serve.log", "--workers", "2")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        # /healthz answered from the first worker up; on a loaded machine the second may still be starting.
        deadline = time.monotonic() + 60
        while len(workers := listening_workers(server, port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(workers) == 2, "each worker listens on its own socket"
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(20):
                r = client.post(
                    "/v1/chat/completions", content=NON_STREAM, headers={"Content-Type": "application/json"}
                )
                assert r.status_code == 200
        # A worker that dies is replaced.
        workers[0].kill()
        workers[0].wait(5)
        deadline = time.monotonic() + 60
        while len(listening_workers(server, port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(listening_workers(server, port)) == 2
    finally:
        assert stop_serve(server, timeout=30) == 0  # the supervisor exits 0 after its workers
    assert "2 workers on http://127.0.0.1" in server.log.read_text()


@pytest.mark.timeout(300)
def test_workers_that_cannot_start_stop_the_supervisor(upstream: MockUpstream, tmp_path: Path) -> None:
    """An app that fails at start-up (a missing tools config) is not restarted forever: exit code 1."""
    log = tmp_path / "serve.log"
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0", "OPENAI_BASE_URL": upstream.url,
           "CONVOAI_TOOLS_CONFIG": str(tmp_path / "missing.toml")}  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.run([str(BIN), "serve", "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT,
                              cwd=tmp_path, timeout=280)  # fmt: skip
    assert proc.returncode == 1, log.read_text()[-2000:]
    assert "workers keep exiting right after they start" in log.read_text()
