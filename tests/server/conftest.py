"""Servers for the HTTP-layer tests: the guarded protocol under real uvicorn with a small ASGI app (the seam
below FastAPI), and the real `convoai-llm serve` process in front of the mock upstream."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from tests.servers import MockUpstream

from convoai_llm.server import ConnectionGuard, ConnectionLimits, GuardedHttpToolsProtocol, ServerConfig

BIN = Path(sys.executable).parent / "convoai-llm"


async def probe_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """POST /echo answers what arrived; GET /stream sends 5 pieces without a length; GET /late-body sends
    its head, waits 0.3 s, then its body; else 'ok'."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if scope["path"] == "/echo":
        seen = {"body": body.decode(), "http_version": scope["http_version"],
                "headers": sorted(name.decode() for name, _ in scope["headers"])}  # fmt: skip
        payload = orjson.dumps(seen)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return
    if scope["path"] == "/late-body":  # the head, then a pause, then the body in two pieces
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(5):
            await send({"type": "http.response.body", "body": b"piece %d\n" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class GuardedThread:
    """`uvicorn.Server` with the guarded protocol on 127.0.0.1 (OS-chosen port), in a thread."""

    def __init__(self, limits: ConnectionLimits, protocol: type[Any] = GuardedHttpToolsProtocol) -> None:
        self.guard = ConnectionGuard(limits)
        config = ServerConfig(self.guard, app=probe_app, host="127.0.0.1", port=0, http=protocol, lifespan="off",
                              log_level="warning", access_log=False, ws="none")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> GuardedThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def port(self) -> int:
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)


@pytest.fixture
def guarded() -> Iterator[Callable[..., GuardedThread]]:
    started: list[GuardedThread] = []

    def start(**limits: Any) -> GuardedThread:
        server = GuardedThread(ConnectionLimits(**limits)).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_serve(
    upstream: MockUpstream, log: Path, *args: str, env: dict[str, str] | None = None, soft_nofile: int | None = None
) -> Served:
    """`convoai-llm serve ARGS` as a real process, proxying to the mock upstream; waits for /healthz.
    ``soft_nofile`` starts it with that soft open-file limit."""

    def lower_nofile() -> None:
        if soft_nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    port = free_port()
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "OPENAI_BASE_URL": upstream.url,
                "OPENAI_API_KEY": "sk-server-test-key", "CONVOAI_PROVIDER": "openai", **(env or {})}  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN), "serve", *args], env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=log.parent, preexec_fn=lower_nofile)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Served(url, proc, log)
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"convoai-llm serve did not start:\n{log.read_text()}")


def stop_serve(served: Served, timeout: float = 20) -> int:
    served.proc.terminate()
    return served.proc.wait(timeout)
