"""litellm as a client (`completion`, `acompletion`, model `openai/…` with `api_base`) against the real server.

litellm reads its model price map from the network unless told to use its bundled copy; the tests never
reach the network, so `LITELLM_LOCAL_MODEL_COST_MAP` is set before the import."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm", reason="litellm is a dev extra: make setup-dev")

from tests.clients.conftest import CLIENT_KEY, TEXT, WEATHER_TOOL, Stack, user  # noqa: E402

# Warnings pydantic raises about litellm's own code (its TypedDicts use `ReadOnly`; it reads `model_fields`
# and `model_computed_fields` on instances); filterwarnings = error would turn them into failures of ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_(computed_)?fields' attribute on the instance"),
]


def call(stack: Stack, model: str = "mock-stream", key: str = CLIENT_KEY, **kw: Any) -> Any:
    return litellm.completion(model=f"openai/{model}", api_base=stack.base_url, api_key=key, num_retries=0,
                              max_retries=0, **{"messages": user("Hi"), **kw})  # fmt: skip


def test_stream_token_by_token(stack: Stack) -> None:
    chunks = list(call(stack, stream=True, stream_options={"include_usage": True}))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == TEXT
    whole = litellm.stream_chunk_builder(chunks)
    assert whole.choices[0].message.content == TEXT and whole.usage.total_tokens > 0


def test_non_stream(stack: Stack) -> None:
    resp = call(stack)
    assert resp.choices[0].message.content == TEXT and resp.model.endswith("mock-stream")
    assert resp.usage.total_tokens > 0


async def test_async_stream(stack: Stack) -> None:
    stream = await litellm.acompletion(model="openai/mock-stream", api_base=stack.base_url, api_key=CLIENT_KEY,
                                       messages=user("Hi"), stream=True, num_retries=0)  # fmt: skip
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == TEXT


def test_tools_round_trip(stack: Stack) -> None:
    messages: list[Any] = [*user("Weather in Paris?")]
    first = call(stack, "mock-tools", messages=messages, tools=[WEATHER_TOOL])
    tool_call = first.choices[0].message.tool_calls[0]
    assert tool_call.function.name == "get_weather" and json.loads(tool_call.function.arguments) == {"city": "Paris"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": tool_call.id, "content": "sunny, 24 C"}]  # fmt: skip
    second = call(stack, "mock-tools", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "The tool said: sunny, 24 C"
    assert stack.upstream.seen[-1].rejected is None


@pytest.mark.parametrize(
    ("model", "key", "kw", "error"),
    [
        ("mock-stream", CLIENT_KEY, {"top_p": 5}, "BadRequestError"),
        ("mock-stream", "sk-wrong", {}, "AuthenticationError"),
        ("mock-503", CLIENT_KEY, {}, "ServiceUnavailableError"),
    ],
)
def test_errors_are_the_clients_own_classes(stack: Stack, model: str, key: str, kw: dict[str, Any], error: str) -> None:
    with pytest.raises(getattr(litellm, error)):
        call(stack, model, key, **kw)


async def test_async_hang_up_closes_the_upstream(stack: Stack) -> None:
    marker = f"litellm-hup-{uuid.uuid4().hex[:8]}"
    stream = await litellm.acompletion(model="openai/mock-long", api_base=stack.base_url, api_key=CLIENT_KEY,
                                       messages=user(marker), stream=True, num_retries=0)  # fmt: skip
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    await stream.aclose()
    await asyncio.to_thread(stack.wait_upstream_closed, marker)  # the loop stays free to finish the close
