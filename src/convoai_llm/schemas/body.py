"""JSON request bodies for the Responses and legacy Completions parsers: bytes → object, and a
pydantic validation error → a `RequestError` naming the offending `param` (`input[0].content`)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from convoai_llm.errors import RequestError

_SCALARS = frozenset({"str", "int", "float", "bool", "none"})


def load_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise RequestError("The request body is empty; send a JSON object.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def param_of(loc: tuple[str | int, ...]) -> str | None:
    """A pydantic error location as OpenAI names a parameter; union branch names are skipped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _SCALARS or "[" in part or part[:1].isupper():
            continue  # a union branch's name (`str`, `list[Item]`, `NamedChoice`), not a field
        else:
            out += f".{part}" if out else part
    return out or None


def request_error(exc: ValidationError) -> RequestError:
    first = max(exc.errors(include_url=False), key=lambda e: len(e["loc"]))  # the most specific
    param = param_of(tuple(first["loc"]))
    msg = "Missing required parameter" if first["type"] == "missing" else first["msg"]
    return RequestError(f"Invalid request: {msg} ('{param}').", param=param)
