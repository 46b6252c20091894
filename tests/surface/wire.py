"""Helpers shared by the surface tests: split SSE bytes into events, and check Responses events
against OpenAI's spec (../shared/openai/openapi.yaml) and the `openai` package's own types."""

from __future__ import annotations

from typing import Any

import orjson
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tests.contract import check

EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}
_STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def sse_events(raw: bytes) -> list[tuple[str | None, bytes]]:
    """`(event name, data)` per SSE event; comments (`: keep-alive`) skipped."""
    out: list[tuple[str | None, bytes]] = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name: str | None = None
        data: list[bytes] = []
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data.append(line[6:])
        if data:
            out.append((name, b"\n".join(data)))
    return out


def responses_events(raw: bytes) -> list[dict[str, Any]]:
    """Decode a Responses stream and check every event: the SSE `event:` name equals its `type`, the
    sequence numbers count from 0, each validates against its schema and parses as the SDK's type."""
    events = []
    for i, (name, data) in enumerate(sse_events(raw)):
        payload = orjson.loads(data)
        assert name == payload["type"], (name, payload["type"])
        assert payload["sequence_number"] == i
        check(EVENT_SCHEMAS[payload["type"]], payload)
        check("ResponseStreamEvent", payload)
        _STREAM_EVENT.validate_python(payload)
        events.append(payload)
    return events


def check_response(body: dict[str, Any]) -> Response:
    check("Response", body)
    return Response.model_validate(body)
