"""Reading a request body with a size cap and a time limit (slow bodies are cut off)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from convoai_llm.errors import BodyTimeout, BodyTooLarge, RequestError


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
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(f"The request body did not arrive within {timeout_s:g} s.") from None
    return b"".join(chunks)
