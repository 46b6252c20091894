"""uvicorn's httptools protocol with a guard in front of the app.

What the guard adds, each at the cost of a few attribute checks per read on the normal path:

- **h2c upgrade offers are ignored, body kept.** Java's `HttpClient` and `curl --http2` on http:// send
  `Connection: Upgrade, HTTP2-Settings` + `Upgrade: h2c`. httptools then skips the body and uvicorn runs the
  app with an empty one (uvicorn #2722). Here the request is parsed again without its hop-by-hop upgrade
  headers, so it is answered over HTTP/1.1 with its body, as RFC 9110 section 7.8 lets a server do.
- **HTTP/1.0 gets no chunked encoding** (1.0 has none): a response without a length is close-delimited.
- **The response head leaves with the first body write** (`HeldHead`): one system call and one packet for a
  stream's head and first event instead of two (a HEAD or bodiless response flushes it when complete).
- **Limits** (`ConnectionLimits`): a request head larger than `max_header_bytes` gets 431, one not complete
  `header_timeout_s` after its first byte gets 408, a connection with no request in progress is closed after
  `idle_timeout_s` (new connections too, not only kept-alive ones), and past `max_connections` open
  connections a new one gets 503 and is closed before anything is read.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httptools
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from convoai_llm.server.limits import ConnectionGuard, ConnectionLimits

HOP_BY_HOP_UPGRADE = (b"upgrade", b"http2-settings")
# After a 408/431 the server stops sending (FIN) but reads and drops what still arrives for this long before
# closing: closing with unread bytes would reset the connection and the client would lose the answer.
LINGER_S = 2.0


class ServerConfig(Config):
    """uvicorn's Config carrying the per-process connection guard to the protocol instances."""

    def __init__(self, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard


class _Rejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.guard = config.guard if isinstance(config, ServerConfig) else ConnectionGuard(ConnectionLimits())
        self.limits = self.guard.limits
        # uvicorn arms its keep-alive timer with this after each response; it only goes to call_later.
        self.timeout_keep_alive = self.limits.idle_timeout_s  # type: ignore[assignment]
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_bytes = 0
        self.read_len = 0
        self.refused = False
        self.lingering = False
        self.ignored_upgrade = False
        self.replaying = False

    # -- connection ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.refused = True
            self.transport = transport
            transport.write(self.guard.responses[503])
            transport.close()
            self.guard.note(503)
            return
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.limits.idle_timeout_s, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        self._unset_keepalive_if_required()
        self.read_len = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Rejected):
                self._reject(exc.__context__.status)
                return
            self._bad_request()
            return
        except httptools.HttpParserError:
            self._bad_request()
            return
        except httptools.HttpParserUpgrade as exc:
            if self.ignored_upgrade and not self.replaying:
                self._replay_without_upgrade(data[exc.args[0] :])
            elif self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._bad_request()
            return
        if self.head_timer is not None:  # still inside a request head after this read
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._reject(431)
        elif self.timeout_keep_alive_task is None and (self.cycle is None or self.cycle.response_complete):
            # Bytes that start no request (stray CRLFs) must not keep an idle connection open.
            self._arm_idle()

    # -- parser callbacks ----------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        if (
            self.head_bytes + self.read_len > self.limits.max_header_bytes
            and self._head_size() > self.limits.max_header_bytes
        ):
            raise _Rejected(431)
        if self.parser.should_upgrade() and not self._should_upgrade():
            self.ignored_upgrade = True  # parsed again without the upgrade headers in data_received
            self.scope["method"] = self.parser.get_method().decode("ascii")
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.ignored_upgrade:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.ignored_upgrade:
            super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if cycle.scope["http_version"] == "1.0":
            app = CloseDelimited(app, cycle)
        cycle.transport = HeldHead(self.transport, cycle)  # type: ignore[assignment]
        super()._start_asgi_task(cycle, app)

    def on_response_complete(self) -> None:
        # A response without a body write (HEAD, an empty 204) still sends its head.
        if self.cycle is not None and isinstance(self.cycle.transport, HeldHead):
            self.cycle.transport.flush()
        super().on_response_complete()

    # -- helpers -------------------------------------------------------------------------------------
    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _replay_without_upgrade(self, rest: bytes) -> None:
        """Parse the request again from its head minus the hop-by-hop upgrade headers, then its body."""
        version = self.parser.get_http_version().encode("ascii")
        lines = [b"%s %s HTTP/%s\r\n" % (self.scope["method"].encode("ascii"), self.url, version)]
        for name, value in self.headers:
            if name in HOP_BY_HOP_UPGRADE:
                continue
            if name == b"connection":
                tokens = [t.strip() for t in value.split(b",") if t.strip().lower() not in HOP_BY_HOP_UPGRADE]
                if not tokens:
                    continue
                value = b", ".join(tokens)
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"\r\n")
        self.ignored_upgrade = False
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.replaying = True
        try:
            self.data_received(b"".join(lines) + rest)
        finally:
            self.replaying = False

    def _arm_idle(self) -> None:
        self.timeout_keep_alive_task = self.loop.call_later(self.limits.idle_timeout_s, self.timeout_keep_alive_handler)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        self._reject(408)

    def _response_in_progress(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _reject(self, status: int) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing() or self.lingering:
            return
        self.guard.note(status)
        if self._response_in_progress():
            self.transport.close()
            return
        self.transport.write(self.guard.responses[status])
        self.lingering = True
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def _bad_request(self) -> None:
        self._cancel_head_timer()
        if self._response_in_progress():
            self.transport.close()
            return
        self.logger.debug("Invalid HTTP request received.")
        self.send_400_response("Invalid HTTP request received.")


class HeldHead:
    """A response cycle's view of the connection: the response head is held until the response's first
    body write (or the connection's end) and leaves with it in one write, so a stream's head and first
    event cost one system call and one packet, not two. Everything else goes to the transport as is
    (a `100 Continue`, written before the response starts, is not held)."""

    __slots__ = ("cycle", "head", "transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self.transport = transport
        self.cycle = cycle
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head + data)
            self.cycle.transport = self.transport  # the head is out: the rest of the response writes directly
        elif self.cycle.response_started and not self.cycle.response_complete and data.startswith(b"HTTP/"):
            self.head = data  # the status line and headers, written by the cycle just after it starts
        else:
            self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class CloseDelimited:
    """HTTP/1.0 has no chunked encoding: a response without Content-Length is written as it comes and ends
    when the connection closes (uvicorn closes 1.0 connections after the response)."""

    def __init__(self, app: ASGI3Application, cycle: RequestResponseCycle) -> None:
        self.app = app
        self.cycle = cycle
        self.framed = True

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        async def send_10(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                self.framed = any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)
                if not self.framed:
                    self.cycle.chunked_encoding = False
                    self.cycle.keep_alive = False
                    self.cycle.expected_content_length = sys.maxsize
            elif message["type"] == "http.response.body" and not self.framed and not message.get("more_body", False):
                self.cycle.expected_content_length = len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_10)
