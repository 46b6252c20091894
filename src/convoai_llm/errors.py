"""Typed errors, and their OpenAI error envelope.

The tree (the HTTP status each maps to before the first byte):

    ConvoError                      500  server_error (never shown with a trace)
    ├── RequestError                400  invalid_request_error, names `param`
    │   ├── BodyTooLarge            413  request_too_large
    │   ├── BodyTimeout             408  request_timeout
    │   ├── UnsupportedMediaType    415  unsupported_media_type: a POST body that is not JSON
    │   ├── ClientClosed            499  client_closed_request: the caller left (never sent, never logged)
    │   └── ModelNotFound           404  model_not_found (reserved: see "Unknown models" in the README)
    ├── AuthError                   401  invalid_api_key
    ├── RateLimited                 429  rate_limit_exceeded (+ Retry-After)
    ├── Unavailable                 503  service_unavailable (+ Retry-After)
    │   ├── TTSUnavailable          503  tts_unavailable: no usable text-to-speech engine
    │   └── KnowledgeBaseUnavailable 503 service_unavailable: the knowledge base cannot be read
    ├── TTSFailed                   500  tts_failed: the engine ran but produced no audio
    ├── DeadlineExceeded            504  request_deadline: the whole request took too long
    └── UpstreamError               502  upstream_error
        ├── UpstreamStatus          the upstream's own 4xx (its message kept), 502 for its 5xx,
        │                           503 for its 503, 429 for its 429
        ├── UpstreamUnavailable     503  cannot connect
        └── UpstreamTimeout         504  no answer in time

Lower-layer exceptions (aiohttp, llama.cpp, JSON) are mapped to these at one boundary, in the
provider that calls the lower layer; `rag/` keeps its own store errors (it works without the server)
and the core's retrieval stage maps them once. `api/errors.py` turns any of them into a response or an
in-stream chunk, in one place. After the first SSE byte the same envelope travels inside the
stream as `data: {"error": {...}}`.
"""

from __future__ import annotations

from typing import Any


class ConvoError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.message, self.type, self.param, self.code)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, round(self.retry_after)))}


class RequestError(ConvoError):
    status = 400
    type = "invalid_request_error"


class BodyTooLarge(RequestError):
    status = 413
    code = "request_too_large"


class BodyTimeout(RequestError):
    status = 408
    code = "request_timeout"


class UnsupportedMediaType(RequestError):
    status = 415
    code = "unsupported_media_type"


class ClientClosed(RequestError):
    """The caller hung up before its answer; nobody reads this (nginx's 499, for the metrics)."""

    status = 499
    code = "client_closed_request"


class ModelNotFound(RequestError):
    status = 404
    code = "model_not_found"


class AuthError(ConvoError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class RateLimited(ConvoError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class Unavailable(ConvoError):
    status = 503
    type = "server_error"
    code = "service_unavailable"


class TTSUnavailable(Unavailable):
    """No usable TTS engine (binary missing, voice missing)."""

    code = "tts_unavailable"


class KnowledgeBaseUnavailable(Unavailable):
    """The knowledge base cannot be read (missing extra, corrupt file, database down)."""


class TTSFailed(ConvoError):
    """The engine ran but produced no audio (bad exit status, unreadable output, timeout)."""

    code = "tts_failed"


class DeadlineExceeded(ConvoError):
    """The request ran past `CONVOAI_REQUEST_DEADLINE_S` (504 before the first byte, in-stream after)."""

    status = 504
    code = "request_deadline"


class UpstreamError(ConvoError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamStatus(UpstreamError):
    """The upstream answered with an HTTP error; client errors keep its status and message."""

    def __init__(
        self,
        upstream_status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, retry_after=retry_after)
        self.upstream_status = upstream_status
        if 400 <= upstream_status < 500:
            self.status = upstream_status
            self.type = type or "invalid_request_error"
        elif upstream_status in (503, 504):
            self.status = upstream_status
        else:
            self.status = 502


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


def error_envelope(message: str, type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
