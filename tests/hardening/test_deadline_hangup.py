"""Item 6 and two Low items of issue 17, over real sockets: a client that leaves before the first byte
(non-streaming, or a stream still waiting for the upstream) releases the upstream at once; a total
request deadline; tool-call pieces assembled in linear time; an upstream's wrongly typed fields are a
502; SIGTERM gives a waiting non-streaming caller an OpenAI error body."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import orjson
from aiohttp import web

from convoai_llm.events import ToolCallDelta
from convoai_llm.schemas.calls import CallBuffer
from tests.conftest import ServeFn
from tests.servers import AppThread, MockUpstream
from tests.test_hardening import _serve_process

MSG = [{"role": "user", "content": "Hi"}]


def hang_up_after(url: str, body: dict[str, object], seconds: float) -> float:
    """Send `body`, wait `seconds` for an answer that does not come, close the socket; the close time."""
    host, port = url.removeprefix("http://").split(":")
    payload = orjson.dumps(body)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))  # fmt: skip
        sock.settimeout(seconds)
        with contextlib.suppress(TimeoutError):
            assert sock.recv(1) == b"", "the server answered before the hang-up"
    return time.monotonic()


def test_hang_up_before_first_byte_closes_the_upstream(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", upstream_retries=0)
    for stream in (False, True):
        upstream.seen.clear()
        left = hang_up_after(server.url, {"model": "mock-slow-headers", "messages": MSG, "stream": stream}, 0.8)
        deadline = time.monotonic() + 3
        while (not upstream.seen or upstream.seen[-1].closed_at is None) and time.monotonic() < deadline:
            time.sleep(0.02)
        closed = upstream.seen[-1].closed_at
        assert closed is not None, f"stream={stream}: upstream kept {time.monotonic() - left:.1f} s after the hang-up"
        assert closed - left < 1.0 and not upstream.seen[-1].finished
    metrics = httpx.get(server.url + "/metrics").text
    assert 'convoai_client_disconnects_total{route="/chat/completions"} 2.0' in metrics


def test_total_request_deadline(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", request_deadline_s=1.0)
    started = time.monotonic()
    resp = httpx.post(server.url + "/v1/chat/completions", json={"model": "mock-long", "messages": MSG}, timeout=30)
    assert resp.status_code == 504 and resp.json()["error"]["code"] == "request_deadline"
    assert time.monotonic() - started < 4  # mock-long takes ~10 s
    with httpx.stream("POST", server.url + "/v1/chat/completions", timeout=30,
                      json={"model": "mock-long", "messages": MSG, "stream": True}) as stream:  # fmt: skip
        lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]" and "request_deadline" in lines[-2]
    assert time.monotonic() - started < 8


def test_tool_call_pieces_assemble_in_linear_time() -> None:
    buffer = CallBuffer()
    started = time.perf_counter()
    for _ in range(200_000):  # 3.2 MB of arguments in 16-byte pieces: quadratic copying would take minutes
        buffer.add(ToolCallDelta(0, arguments="0123456789abcdef"))
    (call,) = buffer.calls("call")
    assert len(call.arguments) == 3_200_000 and time.perf_counter() - started < 5


def wrongly_typed_upstream(chunk: bytes) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"data: " + chunk + b"\n\ndata: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    return app


def test_wrongly_typed_upstream_fields_are_502(serve: ServeFn) -> None:
    shapes = [
        b'{"choices": 5}',
        b'{"choices": ["x"]}',
        b'{"choices": [{"index": 0, "delta": {"content": 7}}]}',
        b'{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "x"}]}}]}',
        b'{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": 5}]}}]}',
        b'{"choices": [{"index": 0, "delta": {}, "finish_reason": ["stop"]}]}',
        b'{"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": {"prompt_tokens": "many"}}',
    ]
    for shape in shapes:
        with AppThread(wrongly_typed_upstream(shape)) as bad:
            server = serve(openai_base_url=bad.url + "/v1", openai_api_key="k", upstream_retries=0)
            resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": MSG}, timeout=10)
            assert resp.status_code == 502, (shape, resp.status_code, resp.text)


def test_sigterm_gives_a_waiting_non_streaming_caller_an_error_body(upstream: MockUpstream, tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": "k", "CONVOAI_SHUTDOWN_GRACE_S": "1"}
    proc, url = _serve_process(env, tmp_path / "serve.log")
    result: list[httpx.Response] = []
    body = {"model": "mock-long", "messages": MSG}  # ~10 s: still running when the 1 s grace ends
    thread = threading.Thread(
        target=lambda: result.append(httpx.post(url + "/chat/completions", json=body, timeout=30))
    )
    thread.start()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    thread.join(20)
    proc.wait(15)
    assert result, "no answer"
    resp = result[0]
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "server_shutting_down"
