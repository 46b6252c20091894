"""End to end: the official `openai` client → convoai-llm under uvicorn → a mock upstream, all on loopback."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY, ServeFn
from tests.servers import MockUpstream, UvicornThread

MSG = [{"role": "user", "content": "Hi"}]


def client(server: UvicornThread, key: str = "caller-key", **kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, **kw)  # type: ignore[arg-type]


def test_streaming_chunks_are_well_formed(proxy: UvicornThread, upstream: MockUpstream) -> None:
    chunks = list(client(proxy).chat.completions.create(model="mock-stream", messages=MSG, stream=True))
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-")
    assert len({c.created for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" and c.model == "mock-stream" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == upstream.text
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_upstream_gets_key_and_clean_messages(proxy: UvicornThread, upstream: MockUpstream) -> None:
    messages = [
        {"role": "system", "content": "Be brief.", "turn_id": 3, "timestamp": 1},
        {"role": "assistant", "audio": {"id": "a1", "transcript": "Hello there"}, "metadata": {"x": 1}},
        {"role": "user", "content": [{"type": "text", "text": "What's "}, {"type": "text", "text": "up?"}]},
    ]
    client(proxy).chat.completions.create(
        model="mock-stream",
        messages=messages,
        temperature=0.3,  # type: ignore[arg-type]
        extra_body={"app_id": "agora-app", "turn_id": 7, "context": {"presence": {}}},
    )
    seen = upstream.seen[-1]
    assert seen.headers["Authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert seen.body["temperature"] == 0.3
    assert seen.body["stream"] is True
    assert "app_id" not in seen.body and "turn_id" not in seen.body and "context" not in seen.body
    assert seen.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert seen.body["messages"][1] == {"role": "assistant", "content": "Hello there"}
    assert seen.body["messages"][2]["content"][1] == {"type": "text", "text": "up?"}


def test_non_streaming_answer(proxy: UvicornThread, upstream: MockUpstream) -> None:
    resp = client(proxy).chat.completions.create(model="mock-stream", messages=MSG)
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.content == upstream.text
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.total_tokens == 17


def test_include_usage_sends_one_usage_chunk_before_done(proxy: UvicornThread) -> None:
    chunks = list(
        client(proxy).chat.completions.create(
            model="mock-stream", messages=MSG, stream=True, stream_options={"include_usage": True}
        )
    )
    usage = [c for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0] is chunks[-1]
    assert usage[0].choices == [] and usage[0].usage is not None
    assert (usage[0].usage.prompt_tokens, usage[0].usage.completion_tokens) == (11, 6)
    plain = list(client(proxy).chat.completions.create(model="mock-stream", messages=MSG, stream=True))
    assert all(c.usage is None for c in plain)


def test_tool_calls_pass_through(proxy: UvicornThread) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chunks = list(
        client(proxy).chat.completions.create(model="mock-tools", messages=MSG, stream=True, tools=tools)  # type: ignore[arg-type]
    )
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id == "call_1" and calls[0].function is not None and calls[0].function.name == "get_weather"
    assert "".join(tc.function.arguments or "" for tc in calls if tc.function) == '{"city": "Paris"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    whole = client(proxy).chat.completions.create(model="mock-tools", messages=MSG, tools=tools)  # type: ignore[arg-type]
    tc = whole.choices[0].message.tool_calls
    assert tc is not None and tc[0].function.arguments == '{"city": "Paris"}'  # type: ignore[union-attr]
    assert whole.choices[0].finish_reason == "tool_calls"


def test_upstream_json_answer_to_stream_request(proxy: UvicornThread) -> None:
    chunks = list(client(proxy).chat.completions.create(model="mock-json", messages=MSG, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "whole answer"


@pytest.mark.parametrize(
    ("model", "status", "error_cls"),
    [
        ("mock-429", 429, openai.RateLimitError),
        ("mock-500", 502, openai.InternalServerError),
        ("mock-503", 503, openai.InternalServerError),
        ("mock-404", 404, openai.NotFoundError),
        ("mock-401", 401, openai.AuthenticationError),
        ("mock-html", 502, openai.InternalServerError),
    ],
)
def test_upstream_http_errors_map_to_statuses(
    proxy: UvicornThread, model: str, status: int, error_cls: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error_cls) as info:
        client(proxy).chat.completions.create(model=model, messages=MSG, stream=True)
    err = info.value
    assert err.status_code == status
    body = err.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert UPSTREAM_KEY not in err.response.text and "sk-upstr" not in err.response.text
    if status == 429:
        assert err.response.headers["Retry-After"] == "7"


def test_upstream_first_byte_timeout_is_504(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", upstream_first_byte_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client(server).chat.completions.create(model="mock-slow-headers", messages=MSG, stream=True)
    assert info.value.status_code == 504
    assert time.monotonic() - started < 3


def test_connection_refused_is_503(serve: ServeFn) -> None:
    server = serve(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k")
    with pytest.raises(openai.APIStatusError) as info:
        client(server).chat.completions.create(model="m", messages=MSG, stream=True)
    assert info.value.status_code == 503


def test_refused_upstream_is_named_by_its_label_never_its_host(serve: ServeFn) -> None:
    fallbacks = [{"base_url": "http://127.0.0.1:7/v1"}]
    server = serve(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k", upstream_retries=0,
                   fallback_upstreams=fallbacks)  # fmt: skip
    resp = httpx.post(server.url + "/v1/chat/completions", json={"model": "m", "messages": MSG})
    assert resp.status_code == 503
    message = resp.json()["error"]["message"]
    assert "127.0.0.1" not in message and ":9" not in message and ":7" not in message
    assert "upstream" in message


@pytest.mark.parametrize("model", ["mock-drop", "mock-truncated", "mock-badjson", "mock-error-chunk"])
def test_failure_after_first_byte_is_an_error_chunk_then_done(proxy: UvicornThread, model: str) -> None:
    with httpx.stream(
        "POST", proxy.url + "/v1/chat/completions", json={"model": model, "messages": MSG, "stream": True}
    ) as resp:
        assert resp.status_code == 200
        events = [line for line in resp.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert events[-2].startswith('data: {"error":')
    with pytest.raises(openai.APIError):
        list(client(proxy).chat.completions.create(model=model, messages=MSG, stream=True))


def test_mid_stream_stall_times_out_in_stream(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", upstream_chunk_timeout_s=0.5)
    started = time.monotonic()
    with httpx.stream(
        "POST",
        server.url + "/chat/completions",
        json={"model": "mock-stall", "messages": MSG, "stream": True},
    ) as resp:
        lines = [line for line in resp.iter_lines() if line]
    assert "upstream_timeout" in lines[-2] and lines[-1] == "data: [DONE]"
    assert time.monotonic() - started < 4


def test_keepalive_comments_while_upstream_is_silent(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", keepalive_interval_s=0.3)
    with httpx.stream(
        "POST",
        server.url + "/chat/completions",
        json={"model": "mock-silent", "messages": MSG, "stream": True},
    ) as resp:
        lines = [line for line in resp.iter_lines() if line]
    assert ": keep-alive" in lines
    assert any("after silence" in line for line in lines) and lines[-1] == "data: [DONE]"


def test_client_hangup_closes_upstream_fast(proxy: UvicornThread, upstream: MockUpstream) -> None:
    stream = client(proxy).chat.completions.create(model="mock-long", messages=MSG, stream=True)
    for received, _ in enumerate(stream, 1):
        if received == 3:
            break
    hung_up = time.monotonic()
    stream.close()
    deadline = time.monotonic() + 2
    while upstream.seen[-1].closed_at is None and time.monotonic() < deadline:
        time.sleep(0.005)
    closed_at = upstream.seen[-1].closed_at
    assert closed_at is not None, "the upstream connection was not closed"
    assert closed_at - hung_up < 0.2
    assert not upstream.seen[-1].finished


def test_caller_token_forwarded_when_no_upstream_key(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url)
    client(server, key="sk-customer-key-abcdef").chat.completions.create(model="mock-stream", messages=MSG)
    assert upstream.seen[-1].headers["Authorization"] == "Bearer sk-customer-key-abcdef"


def test_server_key_is_never_forwarded(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, api_keys="server-key-1")
    client(server, key="server-key-1").chat.completions.create(model="mock-stream", messages=MSG)
    assert "Authorization" not in upstream.seen[-1].headers
