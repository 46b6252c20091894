"""langchain-openai's `ChatOpenAI` (invoke, stream, astream, bind_tools) against the real server."""

from __future__ import annotations

import uuid

import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from tests.clients.conftest import CLIENT_KEY, TEXT, WEATHER_TOOL, Stack


def chat(stack: Stack, model: str = "mock-stream", key: str = CLIENT_KEY) -> ChatOpenAI:
    return ChatOpenAI(base_url=stack.base_url, api_key=key, model=model, max_retries=0, stream_usage=True)  # type: ignore[arg-type]


def test_invoke(stack: Stack) -> None:
    reply = chat(stack).invoke("Hi")
    assert reply.content == TEXT and reply.response_metadata["finish_reason"] == "stop"
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] > 0


def test_stream_token_by_token_with_usage(stack: Stack) -> None:
    chunks = list(chat(stack).stream("Hi"))
    assert "".join(str(c.content) for c in chunks) == TEXT
    assert len([c for c in chunks if c.content]) == len(TEXT.split(" "))
    assert any(c.usage_metadata for c in chunks)


async def test_astream(stack: Stack) -> None:
    chunks = [c async for c in chat(stack).astream("Hi")]
    assert "".join(str(c.content) for c in chunks) == TEXT


def test_tools_round_trip(stack: Stack) -> None:
    marker = f"lc-tools-{uuid.uuid4().hex[:8]}"
    model = chat(stack, "mock-tools").bind_tools([WEATHER_TOOL])
    question = HumanMessage(f"Weather in Paris? {marker}")
    first = model.invoke([question])
    assert isinstance(first, AIMessage)
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [("get_weather", {"city": "Paris"})]
    result = ToolMessage("sunny, 24 C", tool_call_id=first.tool_calls[0]["id"] or "")
    second = model.invoke([question, first, result])
    assert second.content == "The tool said: sunny, 24 C"
    assert stack.seen(marker).rejected is None and stack.upstream.seen[-1].rejected is None


def test_streamed_tool_call(stack: Stack) -> None:
    chunks = list(chat(stack, "mock-tools").bind_tools([WEATHER_TOOL]).stream("Weather?"))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c  # type: ignore[assignment]
    assert isinstance(merged, AIMessageChunk)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize(
    ("model", "key", "kwargs", "error"),
    [
        ("mock-stream", CLIENT_KEY, {"temperature": 5}, openai.BadRequestError),
        ("mock-stream", "sk-wrong", {}, openai.AuthenticationError),
        ("mock-503", CLIENT_KEY, {}, openai.InternalServerError),
    ],
)
def test_errors_are_the_clients_own_classes(
    stack: Stack, model: str, key: str, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        chat(stack, model, key).invoke("Hi", **kwargs)


def test_hang_up_closes_the_upstream(stack: Stack) -> None:
    marker = f"lc-hup-{uuid.uuid4().hex[:8]}"
    stream = chat(stack, "mock-long").stream(marker)
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()  # type: ignore[attr-defined]
    stack.wait_upstream_closed(marker)
