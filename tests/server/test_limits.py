"""Header floods and idle sockets over real sockets, bounded in count and time; /healthz stays fast."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import httpx
import orjson
from tests.server.conftest import GuardedThread

from convoai_llm.server import ConnectionLimits
from convoai_llm.server.limits import RESERVED_FILES
from convoai_llm.settings import Settings


def healthz_ms(server: GuardedThread) -> float:
    t = time.monotonic()
    r = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
    assert r.status_code == 200
    return (time.monotonic() - t) * 1000


def closed_by_peer(sock: socket.socket, within_s: float) -> tuple[bool, bytes]:
    """Whether the server closed the socket within the time, and what it sent before."""
    sock.settimeout(within_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return False, data
    except ConnectionResetError:
        pass
    return True, data


def test_one_megabyte_header_gets_431_and_healthz_stays_fast(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(max_header_bytes=32768)
    big = b"x" * (1 << 20)
    sent = threading.Event()

    def flood() -> None:
        with server.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Flood: ")
            try:
                for i in range(0, len(big), 16384):
                    sock.sendall(big[i : i + 16384])
            except (BrokenPipeError, ConnectionResetError):
                pass
            sent.set()

    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Flood: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(big)
        closed, data = closed_by_peer(sock, 5)
    assert closed
    assert data.startswith(b"HTTP/1.1 431 ")
    assert orjson.loads(data.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_header_fields_too_large"
    floods = [threading.Thread(target=flood) for _ in range(4)]
    for t in floods:
        t.start()
    # Unguarded, one such flood froze the process ~30 s. The bound leaves room for a loaded shared machine
    # (the flood threads and the server share this test process).
    assert max(healthz_ms(server) for _ in range(5)) < 2000
    for t in floods:
        t.join(10)
    assert server.guard.refused[431] >= 5


def test_complete_head_over_the_limit_in_one_read_gets_431(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(max_header_bytes=32768)
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"z" * 40000 + b"\r\n\r\n")
        closed, data = closed_by_peer(sock, 5)
    assert closed and data.startswith(b"HTTP/1.1 431 ")


def test_head_under_the_limit_is_served(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(max_header_bytes=32768)
    r = httpx.get(f"http://127.0.0.1:{server.port}/", headers={"X-Big": "y" * 30000}, timeout=5)
    assert r.status_code == 200


def test_slow_header_drip_gets_408_after_the_deadline(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(header_timeout_s=0.5, idle_timeout_s=30)
    with server.connect() as sock:
        t = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(3):
            time.sleep(0.1)
            sock.sendall(b"X-A: b\r\n")
        closed, data = closed_by_peer(sock, 3)
        elapsed = time.monotonic() - t
    assert closed and data.startswith(b"HTTP/1.1 408 ")
    assert 0.45 < elapsed < 2.0


def test_200_idle_sockets_are_closed_and_healthz_stays_fast(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(idle_timeout_s=1.0)
    socks = [server.connect() for _ in range(200)]
    try:
        assert healthz_ms(server) < 2000
        # A kept-alive connection after a response is closed too; stray CRLFs do not keep one open.
        kept = server.connect()
        kept.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        crlf = server.connect()
        crlf.sendall(b"\r\n")
        socks += [kept, crlf]
        t = time.monotonic()
        for sock in socks:
            closed, _ = closed_by_peer(sock, max(0.1, 4 - (time.monotonic() - t)))
            assert closed
        assert time.monotonic() - t < 4
    finally:
        for sock in socks:
            sock.close()


def test_connection_cap_answers_503_and_recovers(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded(max_connections=20, idle_timeout_s=30)
    socks = [server.connect() for _ in range(20)]
    try:
        time.sleep(0.2)  # let the server accept them all
        with server.connect() as extra:
            closed, data = closed_by_peer(extra, 3)
        assert closed and data.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in data
        for sock in socks[:5]:
            sock.close()
        time.sleep(0.2)
        assert healthz_ms(server) < 2000
    finally:
        for sock in socks:
            sock.close()


def test_connection_cap_fits_the_open_file_limit() -> None:
    settings = Settings(_env_file=None, max_connections=10000)  # type: ignore[call-arg]
    assert ConnectionLimits.from_settings(settings, 1024).max_connections == (1024 - RESERVED_FILES) // 2
    assert ConnectionLimits.from_settings(settings, 1 << 20).max_connections == 10000
    assert ConnectionLimits.from_settings(settings, None).max_connections == 10000
