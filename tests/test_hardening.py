"""Faults and hostile input over real sockets: retries and fallback, overload, slow bodies, DNS and TLS
failures, header injection, huge and deep bodies, graceful shutdown, and no key in any log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import MockUpstream, UvicornThread
from tests.test_cli import free_port

MSG = [{"role": "user", "content": "Hi"}]
BIN = Path(sys.executable).parent / "convoai-llm"


def post(server: UvicornThread, body: dict[str, object], **kw: object) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", json=body, timeout=30, **kw)  # type: ignore[arg-type]


def test_retries_before_first_byte(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", upstream_retry_base_s=0.01)
    model = f"mock-flaky-2-{uuid.uuid4().hex}"
    resp = post(server, {"model": model, "messages": MSG})
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == upstream.text
    assert upstream.counts[model] == 3
    model = f"mock-flaky-5-{uuid.uuid4().hex}"
    assert post(server, {"model": model, "messages": MSG}).status_code == 503
    assert upstream.counts[model] == 3  # bounded: one try and two retries


def test_no_retry_for_client_errors_long_retry_after_or_after_first_byte(
    serve: ServeFn, upstream: MockUpstream
) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", upstream_retry_base_s=0.01)
    before = dict(upstream.counts)
    assert post(server, {"model": "mock-404", "messages": MSG}).status_code == 404
    assert post(server, {"model": "mock-429", "messages": MSG}).status_code == 429  # Retry-After 7 s > max wait
    resp = post(server, {"model": "mock-drop", "messages": MSG, "stream": True})
    assert resp.status_code == 200 and '"error"' in resp.text
    for model in ("mock-404", "mock-429", "mock-drop"):
        assert upstream.counts[model] - before.get(model, 0) == 1


def test_fallback_gets_its_own_key_never_the_main_one(serve: ServeFn, upstream: MockUpstream) -> None:
    fallback = [{"base_url": upstream.url, "api_key": "sk-fallback-key-000111", "model": "mock-stream"}]
    server = serve(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="sk-main-key-999888",
                   fallback_upstreams=fallback, upstream_retry_base_s=0.01)  # fmt: skip
    upstream.seen.clear()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-caller-777", max_retries=0)
    chunks = list(client.chat.completions.create(model="gpt-x", messages=MSG, stream=True))  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == upstream.text
    assert chunks[0].model == "mock-stream"  # the model that answered
    assert upstream.seen[-1].headers["Authorization"] == "Bearer sk-fallback-key-000111"
    assert all("sk-main" not in str(s.headers) and "sk-caller" not in str(s.headers) for s in upstream.seen)


def test_rate_limit_per_key_and_concurrent_streams(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", api_keys="key-a,key-b",
                   rate_limit_rps=0.5, rate_limit_burst=2)  # fmt: skip
    a = {"Authorization": "Bearer key-a"}
    codes = [post(server, {"model": "mock-stream", "messages": MSG}, headers=a).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = post(server, {"model": "mock-stream", "messages": MSG}, headers=a)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert (
        post(server, {"model": "mock-stream", "messages": MSG}, headers={"Authorization": "Bearer key-b"}).status_code
        == 200
    )


def test_stream_caps_refuse_instead_of_slowing(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", max_streams_per_key=1, max_inflight=2)
    body = {"model": "mock-long", "messages": MSG, "stream": True}
    with httpx.stream("POST", server.url + "/chat/completions", json=body) as first:
        lines = first.iter_lines()  # keep a reference: a dropped iterator closes the response (a hang-up)
        next(lines)
        second = post(server, body)
        assert second.status_code == 429 and second.json()["error"]["message"].startswith("Too many concurrent")
    assert post(server, {"model": "mock-stream", "messages": MSG}).status_code == 200  # slot released
    crowded = serve(openai_base_url=upstream.url, openai_api_key="k", max_inflight=1)
    with httpx.stream("POST", crowded.url + "/chat/completions", json=body) as first:
        lines = first.iter_lines()
        next(lines)
        refused = post(crowded, body)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"


SLOW_HEAD = (b"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 200\r\n\r\n")  # fmt: skip
"""A request head announcing 200 bytes of body, of which the tests send only a start."""


def test_slow_body_is_cut_off(serve: ServeFn) -> None:
    server = serve(provider=ScriptedProvider(), body_timeout_s=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(SLOW_HEAD + b'{"messages": [')
        started = time.monotonic()
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply
    assert time.monotonic() - started < 3


def test_a_trickling_body_is_cut_off_at_the_total_limit(serve: ServeFn) -> None:
    """The limit is for the whole body, not per piece: a piece every 0.2 s does not keep it alive."""
    server = serve(provider=ScriptedProvider(), body_timeout_s=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(SLOW_HEAD + b"{")
        started = time.monotonic()
        sock.settimeout(0.2)
        reply = b""
        for _ in range(15):
            try:
                reply = sock.recv(4096)
                break
            except TimeoutError:
                sock.sendall(b" ")
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert time.monotonic() - started < 1.5


def test_dns_and_tls_failures(serve: ServeFn, upstream: MockUpstream) -> None:
    dns = serve(openai_base_url="http://no-such-host.invalid/v1", openai_api_key="k", upstream_retries=0,
                upstream_connect_timeout_s=3)  # fmt: skip
    started = time.monotonic()
    resp = post(dns, {"messages": MSG, "stream": True})
    assert resp.status_code in (503, 504) and time.monotonic() - started < 10
    tls = serve(openai_base_url=upstream.url.replace("http://", "https://"), openai_api_key="k", upstream_retries=0)
    resp = post(tls, {"messages": MSG, "stream": True})
    assert resp.status_code == 502 and "TLS" in resp.json()["error"]["message"]


def test_header_injection_and_hostile_bodies(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", max_body_bytes=1024 * 1024)
    resp = post(server, {"model": "mock-stream\r\nX-Injected: yes", "messages": MSG})
    assert "x-injected" not in resp.headers
    assert "X-Injected" not in upstream.seen[-1].headers
    deep = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    json_type = {"Content-Type": "application/json"}
    r = httpx.post(server.url + "/chat/completions", content=deep[: 1024 * 1024 - 10] + b"]}", headers=json_type)
    assert r.status_code in (400, 413)
    nested = b'{"messages": [{"role": "user", "content": "x", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    assert httpx.post(server.url + "/chat/completions", content=nested, headers=json_type).status_code == 400
    many = {"model": "mock-stream", "messages": [{"role": "user", "content": "x"}] * 20_000}
    assert post(server, many).status_code == 200
    invalid_utf8 = b"\xc3\x28\xa0\xa1"
    assert httpx.post(server.url + "/chat/completions", content=invalid_utf8, headers=json_type).status_code == 400


def _serve_process(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # start-up loads the models: slow on a loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(log.read_text())


def test_sigterm_finishes_short_streams_and_ends_long_ones(upstream: MockUpstream, tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": "k", "CONVOAI_SHUTDOWN_GRACE_S": "3"}
    proc, url = _serve_process(env, tmp_path / "serve.log")
    results: dict[str, list[str]] = {}
    streaming = {"short": threading.Event(), "long": threading.Event()}

    def run(name: str, model: str) -> None:
        body = {"model": model, "messages": MSG, "stream": True}
        lines: list[str] = []
        with httpx.stream("POST", url + "/chat/completions", json=body, timeout=30) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    lines.append(line)
                    streaming[name].set()
        results[name] = lines

    # "short" (~0.8 s) is still streaming at SIGTERM and must finish inside the 3 s grace; "long" (~10 s) cannot.
    threads = [threading.Thread(target=run, args=a) for a in (("short", "mock-medium"), ("long", "mock-long"))]
    for t in threads:
        t.start()
    assert all(event.wait(10) for event in streaming.values()), "the streams did not start"
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/healthz", timeout=2)  # no longer accepting
    for t in threads:
        t.join(15)
    assert proc.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    assert results["short"][-1] == "data: [DONE]" and '"finish_reason":"stop"' in results["short"][-2]
    assert results["long"][-1] == "data: [DONE]" and "server_shutting_down" in results["long"][-2]


def test_no_key_in_debug_logs(upstream: MockUpstream, tmp_path: Path) -> None:
    keys = {"upstream": "sk-upstream-debug-5551212", "server": "server-key-debug-8675309"}
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": keys["upstream"], "CONVOAI_API_KEYS": keys["server"],
           "CONVOAI_LOG_LEVEL": "debug"}  # fmt: skip
    log = tmp_path / "debug.log"
    proc, url = _serve_process(env, log)
    try:
        auth = {"Authorization": f"Bearer {keys['server']}"}
        for model in ("mock-stream", "mock-401", "mock-500", "mock-drop", "mock-badjson"):
            httpx.post(url + "/chat/completions", json={"model": model, "messages": MSG, "stream": True}, headers=auth)
        httpx.post(url + "/chat/completions", json={"messages": MSG}, headers={"Authorization": "Bearer wrong-key-1"})
        httpx.get(url + "/metrics", headers=auth)
    finally:
        proc.terminate()
        proc.wait(15)
    text = log.read_text()
    assert "request route=/chat/completions" in text and "ignored_fields" in text  # the debug line is there
    for key in (*keys.values(), "wrong-key-1"):
        assert key not in text
