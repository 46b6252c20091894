"""Connection limits and the answers the HTTP layer gives when one is crossed (before the app runs)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from http import HTTPStatus

import orjson

from convoai_llm.errors import error_envelope
from convoai_llm.settings import Settings

log = logging.getLogger("convoai_llm.server")

# Files a process keeps for itself (logs, the knowledge base, the model, pipes) before counting sockets.
RESERVED_FILES = 256

REASONS: dict[int, tuple[str, str, str]] = {
    408: ("request_timeout", "invalid_request_error", "The request headers did not arrive in time."),
    431: (
        "request_header_fields_too_large",
        "invalid_request_error",
        "The request headers are too large.",
    ),
    503: ("too_many_connections", "server_error", "The server has too many open connections; retry shortly."),
}


@dataclass(frozen=True)
class ConnectionLimits:
    """What one process accepts from a connection before the app sees a request."""

    max_header_bytes: int = 32768
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 5.0
    max_connections: int = 10000

    @classmethod
    def from_settings(cls, settings: Settings, open_files: int | None = None) -> ConnectionLimits:
        """The configured limits; the connection cap lowered to fit ``open_files`` (two files a stream:
        the caller's socket and the upstream's)."""
        cap = settings.max_connections
        if open_files is not None:
            cap = max(1, min(cap, (open_files - RESERVED_FILES) // 2))
        return cls(settings.max_header_bytes, settings.header_timeout_s, settings.idle_timeout_s, cap)


def rejection(status: int) -> bytes:
    """A complete HTTP/1.1 response with an OpenAI error body that closes the connection."""
    code, kind, message = REASONS[status]
    body = orjson.dumps(error_envelope(message, kind, None, code))
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    )
    if status == 503:
        head += "retry-after: 1\r\n"
    return head.encode("ascii") + b"\r\n" + body


@dataclass
class ConnectionGuard:
    """One per process, built at start-up: the limits, the prebuilt rejections, and counts of what was refused
    (logged at most once per ``log_every_s`` per kind, so a flood cannot flood the log too)."""

    limits: ConnectionLimits
    log_every_s: float = 10.0
    responses: dict[int, bytes] = field(default_factory=lambda: {s: rejection(s) for s in REASONS})
    refused: dict[int, int] = field(default_factory=dict)
    _logged_at: dict[int, float] = field(default_factory=dict)

    def note(self, status: int) -> None:
        self.refused[status] = self.refused.get(status, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(status, -self.log_every_s) >= self.log_every_s:
            self._logged_at[status] = now
            log.warning("connection refused: %s (%d so far in this process)", REASONS[status][0], self.refused[status])
