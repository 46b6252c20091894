"""One error map for the HTTP layer: any exception → an OpenAI-style response, or bytes inside a stream.

Used by the exception handlers, the fast path, the limits middleware and the stream pump. An
unexpected exception is logged with its type (never its text, which may carry a secret) and answered
as a generic 500 / "The stream failed.".
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Send

from convoai_llm.errors import ConvoError

log = logging.getLogger("convoai_llm")


def as_convo_error(exc: BaseException, where: str = "") -> ConvoError:
    if isinstance(exc, ConvoError):
        return exc
    log.error("unhandled error%s: %s", f" on {where}" if where else "", type(exc).__name__, exc_info=exc)
    return ConvoError("Internal server error.")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def to_response(exc: BaseException, where: str = "") -> Response:
    err = as_convo_error(exc, where)
    return json_response(err.envelope(), err.status, err.headers())


def stream_error(exc: BaseException) -> ConvoError:
    """The error to send inside a stream (unexpected ones are logged and become a generic one)."""
    if isinstance(exc, ConvoError):
        return exc
    log.error("stream failed: %s", type(exc).__name__, exc_info=exc)
    return ConvoError("The stream failed.")


async def send_error(exc: ConvoError, send: Send) -> None:
    """The error as a whole raw ASGI response (middleware that answers before the app)."""
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers().items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(exc.envelope())})
