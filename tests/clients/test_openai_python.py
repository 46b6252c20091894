"""openai-python (sync, async, the `stream` helper) against the real server and the strict mock upstream."""

from __future__ import annotations

import asyncio
import json
import uuid

import openai
import pytest

from tests.clients.conftest import CLIENT_KEY, TEXT, WEATHER_TOOL, Stack, user


def sync(stack: Stack, key: str = CLIENT_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key=key, max_retries=0)


def asynchronous(stack: Stack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=CLIENT_KEY, max_retries=0)


def test_sync_stream_token_by_token_with_usage(stack: Stack) -> None:
    with sync(stack) as client:
        chunks = list(client.chat.completions.create(model="mock-stream", messages=user("Hi"), stream=True,
                                                     stream_options={"include_usage": True}))  # fmt: skip
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == TEXT and len(deltas) == len(TEXT.split(" "))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert {c.model for c in chunks} == {"mock-stream"}


def test_sync_non_stream(stack: Stack) -> None:
    with sync(stack) as client:
        resp = client.chat.completions.create(model="mock-stream", messages=user("Hi"))
    assert resp.choices[0].message.content == TEXT and resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.completion_tokens > 0


async def test_async_stream_and_non_stream(stack: Stack) -> None:
    async with asynchronous(stack) as client:
        stream = await client.chat.completions.create(model="mock-stream", messages=user("Hi"), stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        whole = await client.chat.completions.create(model="mock-stream", messages=user("Hi"))
    assert text == TEXT and whole.choices[0].message.content == TEXT


def test_stream_helper_events_and_final_completion(stack: Stack) -> None:
    with sync(stack) as client, client.chat.completions.stream(model="mock-stream", messages=user("Hi")) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    assert "".join(e.delta for e in events if e.type == "content.delta") == TEXT
    assert any(e.type == "content.done" for e in events)
    assert final.choices[0].message.content == TEXT


def test_explicit_nulls_are_accepted_and_never_forwarded(stack: Stack) -> None:
    """openai-python sends `null` for `temperature=None`; OpenAI accepts it; the upstream never sees it."""
    marker = f"nulls-{uuid.uuid4().hex[:8]}"
    with sync(stack) as client:
        resp = client.chat.completions.create(model="mock-stream", messages=user(marker), temperature=None,
                                              top_p=None, tools=[], extra_body={"seed": None})  # fmt: skip
    assert resp.choices[0].message.content == TEXT
    body = stack.seen(marker).body
    assert not {"temperature", "top_p", "tools", "seed"} & set(body)


def test_tools_round_trip(stack: Stack) -> None:
    marker = f"tools-{uuid.uuid4().hex[:8]}"
    messages = user(f"Weather in Paris? {marker}")
    with sync(stack) as client:
        first = client.chat.completions.create(model="mock-tools", messages=messages, tools=[WEATHER_TOOL])
        assert first.choices[0].message.tool_calls is not None
        call = first.choices[0].message.tool_calls[0]
        assert call.type == "function"
        assert first.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
        messages += [first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
                     {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"}]  # fmt: skip
        second = client.chat.completions.create(model="mock-tools", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "The tool said: sunny, 24 C"
    sent = stack.upstream.seen[-1].body["messages"]
    assert sent[-1] == {"role": "tool", "content": "sunny, 24 C", "tool_call_id": call.id}
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_streamed_tool_calls_through_the_stream_helper(stack: Stack) -> None:
    with sync(stack) as client, client.chat.completions.stream(model="mock-tools", messages=user("Weather?"),
                                                               tools=[WEATHER_TOOL]) as stream:  # fmt: skip
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
    assert [(e.name, json.loads(e.arguments)) for e in done] == [("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize(
    ("kwargs", "key", "error", "status"),
    [
        ({"temperature": 5}, CLIENT_KEY, openai.BadRequestError, 400),
        ({}, "sk-wrong", openai.AuthenticationError, 401),
        ({"model": "mock-503"}, CLIENT_KEY, openai.InternalServerError, 503),
        ({"model": "mock-429"}, CLIENT_KEY, openai.RateLimitError, 429),
    ],
)
def test_errors_are_the_clients_own_classes(
    stack: Stack, kwargs: dict[str, object], key: str, error: type[openai.APIStatusError], status: int
) -> None:
    args: dict[str, object] = {"model": "mock-stream", "messages": user("Hi"), **kwargs}
    with sync(stack, key) as client, pytest.raises(error) as caught:
        client.chat.completions.create(**args)  # type: ignore[call-overload]
    assert caught.value.status_code == status
    assert CLIENT_KEY not in str(caught.value.body) and "127.0.0.1" not in str(caught.value.body)
    if status == 400:
        assert caught.value.body["param"] == "temperature"  # type: ignore[index]


def test_sync_hang_up_closes_the_upstream(stack: Stack) -> None:
    marker = f"hup-sync-{uuid.uuid4().hex[:8]}"
    with sync(stack) as client:
        stream = client.chat.completions.create(model="mock-long", messages=user(marker), stream=True)
        for i, _ in enumerate(stream):
            if i == 3:
                break
        stream.close()
    stack.wait_upstream_closed(marker)


async def test_async_hang_up_closes_the_upstream(stack: Stack) -> None:
    marker = f"hup-async-{uuid.uuid4().hex[:8]}"
    async with asynchronous(stack) as client:
        stream = await client.chat.completions.create(model="mock-long", messages=user(marker), stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        await stream.close()
    await asyncio.to_thread(stack.wait_upstream_closed, marker)  # the loop stays free to finish the close


def test_legacy_completions(stack: Stack) -> None:
    with sync(stack) as client:
        resp = client.completions.create(model="mock-stream", prompt="Hi")
    assert resp.choices[0].text == TEXT


def test_responses_api(stack: Stack) -> None:
    with sync(stack) as client:
        resp = client.responses.create(model="mock-stream", input="Hi")
    assert resp.output_text == TEXT


async def test_async_tools_round_trip_and_errors(stack: Stack) -> None:
    """AsyncOpenAI: a tools round trip (non-streaming and streamed) and errors as openai's own classes."""
    messages = user(f"Weather in Paris? async-{uuid.uuid4().hex[:8]}")
    async with asynchronous(stack) as client:
        first = await client.chat.completions.create(model="mock-tools", messages=messages, tools=[WEATHER_TOOL])
        call = (first.choices[0].message.tool_calls or [])[0]
        assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"  # type: ignore[union-attr]
        messages += [first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
                     {"role": "tool", "tool_call_id": call.id, "content": "rainy, 12 C"}]  # fmt: skip
        stream = await client.chat.completions.create(model="mock-tools", messages=messages, tools=[WEATHER_TOOL],
                                                      stream=True)  # fmt: skip
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "The tool said: rainy, 12 C"
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="mock-stream", messages=user("Hi"), temperature=5)
        assert bad.value.status_code == 400 and bad.value.body["param"] == "temperature"  # type: ignore[index]
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="mock-503", messages=user("Hi"))
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key="wrong", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError):
            await stranger.chat.completions.create(model="mock-stream", messages=user("Hi"))
