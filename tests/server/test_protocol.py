"""The guarded protocol over real sockets: h2c upgrade offers keep their body, HTTP/1.0 is close-delimited."""

from __future__ import annotations

import socket
from collections.abc import Callable

import orjson
from tests.server.conftest import GuardedThread
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from convoai_llm.server import ConnectionLimits

BODY = b'{"messages":[{"role":"user","content":"hi"}]}'
H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"


def post(path: bytes, extra: bytes, body: bytes, version: bytes = b"1.1") -> bytes:
    head = b"POST %s HTTP/%s\r\nHost: t\r\nContent-Type: application/json\r\n%s" % (path, version, extra)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Responses:
    """Reads Content-Length responses one at a time from a socket, keeping bytes of the next one."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def next(self) -> tuple[bytes, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        length = next(int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buf = rest[length:]
        return head, rest[:length]


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response with a Content-Length on a socket that carries no other: (head, body)."""
    return Responses(sock).next()


def read_to_close(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_h2c_upgrade_offer_keeps_the_body_and_the_connection(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        responses = Responses(sock)
        sock.sendall(post(b"/echo", H2C, BODY))
        head, body = responses.next()
        assert head.startswith(b"HTTP/1.1 200"), head
        seen = orjson.loads(body)
        assert seen["body"] == BODY.decode()
        # The hop-by-hop upgrade headers are gone; the rest reach the app.
        assert "upgrade" not in seen["headers"] and "http2-settings" not in seen["headers"]
        assert "connection" not in seen["headers"] and "content-type" in seen["headers"]
        # The same connection goes on serving requests (with or without an upgrade offer).
        sock.sendall(post(b"/echo", b"", b'{"n":2}') + post(b"/echo", H2C, b'{"n":3}'))
        assert orjson.loads(responses.next()[1])["body"] == '{"n":2}'
        assert orjson.loads(responses.next()[1])["body"] == '{"n":3}'


def test_h2c_upgrade_offer_with_a_chunked_body_split_over_reads(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\n" + H2C[:20])
        sock.sendall(H2C[20:] + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello")
        sock.sendall(b"\r\n6\r\n world\r\n0\r\n\r\n")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and orjson.loads(body)["body"] == "hello world"


def test_plain_uvicorn_httptools_loses_the_body_this_is_what_the_guard_fixes() -> None:
    """The bug itself (uvicorn #2722), so the test above would fail without the guard."""
    with GuardedThread(ConnectionLimits(), protocol=HttpToolsProtocol) as server, server.connect() as sock:
        sock.sendall(post(b"/echo", H2C, BODY))
        _head, body = read_response(sock)
        assert orjson.loads(body)["body"] == ""


def test_http10_response_without_length_is_close_delimited(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\nHost: t\r\n\r\n")
        data = read_to_close(sock)
    head, body = data.split(b"\r\n\r\n", 1)
    headers = head.lower()
    assert b"transfer-encoding" not in headers and b"content-length" not in headers
    assert b"connection: close" in headers
    assert body == b"".join(b"piece %d\n" % i for i in range(5))


def test_http10_with_a_length_and_http11_chunked_are_unchanged(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        sock.sendall(post(b"/echo", b"", b'{"a":1}', version=b"1.0"))
        head, body = read_response(sock)
        assert b"content-length" in head.lower() and orjson.loads(body)["http_version"] == "1.0"
    with server.connect() as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = read_to_close(sock)
    assert b"transfer-encoding: chunked" in data.lower() and b"0\r\n\r\n" in data


def test_the_head_leaves_with_the_first_body_write(guarded: Callable[..., GuardedThread]) -> None:
    """One write, one packet: nothing arrives while the app waits between its head and its first body."""
    server = guarded()
    with server.connect() as sock:
        sock.settimeout(5)
        sock.sendall(b"GET /late-body HTTP/1.1\r\nHost: t\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200") and b"\r\n\r\n5\r\nfirst\r\n" in first, first


def test_a_head_request_gets_its_head_and_the_connection_goes_on(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        sock.settimeout(5)
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n"), head
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and body == b"ok"


def test_100_continue_is_sent_at_once_not_held(guarded: Callable[..., GuardedThread]) -> None:
    server = guarded()
    with server.connect() as sock:
        sock.settimeout(5)
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(BODY)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue"), "the interim answer must not wait"
        sock.sendall(BODY)
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and orjson.loads(body)["body"] == BODY.decode()
