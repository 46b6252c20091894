"""Reading a request body with a size cap and a time limit (slow bodies are cut off)."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from convoai_llm.api.stepper import resume
from convoai_llm.errors import BodyTimeout, BodyTooLarge, ClientClosed, RequestError, UnsupportedMediaType


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise RequestError("Invalid Content-Length header.") from None
        if declared > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    until = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:  # the ASGI messages themselves: Starlette's `stream()` adds an async generator
            message = await _next(receive, until)
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except TimeoutError:
        raise BodyTimeout(f"The request body did not arrive within {timeout_s:g} s.") from None
    except ClientDisconnect:  # the caller left mid-body: nobody to answer, nothing to log as an error
        raise ClientClosed("The client closed the connection before sending the whole body.") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _next(receive: Receive, until: float) -> Message:
    """The next ASGI message: taken at once when the server has it (a small body arrives with the head),
    with no timer; a message that must be waited for is waited for until `until` (loop time)."""
    step = receive().__await__()
    try:
        yielded = step.send(None)
    except StopIteration as done:
        message: Message = done.value
        return message
    async with asyncio.timeout_at(until):
        return await resume(step, yielded)


def require_json(content_type: str | None) -> None:
    """A POST body must be declared `application/json` (a cross-site form or `text/plain` post is refused)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("Send the body as JSON with `Content-Type: application/json`.")
