"""Every body, error and chunk we send validates against OpenAI's schemas (../shared/openai/openapi.yaml),
and parses with the `openai` package's own response types."""

from __future__ import annotations

import httpx
import orjson
import pytest
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from convoai_llm.errors import UpstreamTimeout
from convoai_llm.events import Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.scripted import Fail, ScriptedProvider
from tests.contract import check
from tests.servers import UvicornThread

MSG = [{"role": "user", "content": "Hi"}]


def sse_payloads(resp: httpx.Response) -> list[str]:
    return [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider(model="contract-model")


@pytest.fixture
def server(serve, scripted: ScriptedProvider) -> UvicornThread:  # type: ignore[no-untyped-def]
    return serve(provider=scripted)


def script_with_tools(p: ScriptedProvider) -> None:
    p.enqueue([
        Started("contract-model"), TextDelta("Let me look."),
        ToolCallDelta(0, "call_9", "function", "lookup", ""), ToolCallDelta(0, arguments='{"q": 1}'),
        Finish("tool_calls"), Usage(5, 4),
    ])  # fmt: skip


def test_stream_chunks_match_spec(server: UvicornThread, scripted: ScriptedProvider) -> None:
    script_with_tools(scripted)
    body = {"messages": MSG, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body) as resp:
        payloads = sse_payloads(resp)
    assert payloads[-1] == "[DONE]"
    chunks = [orjson.loads(p) for p in payloads[:-1]]
    assert len(chunks) >= 5
    for chunk in chunks:
        check("CreateChatCompletionStreamResponse", chunk)
        ChatCompletionChunk.model_validate(chunk)
    assert chunks[-1]["usage"]["total_tokens"] == 9


def test_completion_matches_spec(server: UvicornThread, scripted: ScriptedProvider) -> None:
    script_with_tools(scripted)
    body = httpx.post(server.url + "/v1/chat/completions", json={"messages": MSG}).json()
    check("CreateChatCompletionResponse", body)
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].message.tool_calls is not None


def test_errors_match_spec(server: UvicornThread, scripted: ScriptedProvider) -> None:
    for resp in (
        httpx.post(server.url + "/v1/chat/completions", json={"messages": []}),
        httpx.post(server.url + "/v1/chat/completions", content=b"nope"),
        httpx.get(server.url + "/v1/unknown"),
    ):
        assert resp.status_code >= 400
        check("ErrorResponse", resp.json())
    scripted.enqueue([Started("contract-model"), TextDelta("a"), Fail(UpstreamTimeout("stalled"))])
    with httpx.stream("POST", server.url + "/v1/chat/completions", json={"messages": MSG, "stream": True}) as resp:
        payloads = sse_payloads(resp)
    check("ErrorResponse", orjson.loads(payloads[-2]))


def test_models_match_spec(server: UvicornThread) -> None:
    body = httpx.get(server.url + "/v1/models").json()
    check("ListModelsResponse", body)
    Model.model_validate(body["data"][0])


def test_the_spec_check_rejects_a_wrong_chunk() -> None:
    bad = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {"role": "wizard"}, "finish_reason": "bored"}]}  # fmt: skip
    with pytest.raises(AssertionError, match="finish_reason"):
        check("CreateChatCompletionStreamResponse", bad)
