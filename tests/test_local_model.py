# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""The real embedded model (llama.cpp + the default catalog GGUF) through the HTTP server."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from convoai_llm.providers.local_catalog import DEFAULT_MODEL, installed, spec_for
from tests.servers import UvicornThread

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(not installed(spec_for(DEFAULT_MODEL)), reason="the default model's packages are not installed"),
]
MSG = [{"role": "user", "content": "Say hello."}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def local_server() -> Iterator[UvicornThread]:
    from convoai_llm.api.app import create_app
    from convoai_llm.providers.local import LocalProvider
    from tests.conftest import make_settings

    settings = make_settings(provider="local", local_max_queue=4)
    provider = LocalProvider(settings)
    provider.load()  # before the server's start-up deadline (slow on a loaded machine); start() is then a no-op
    with UvicornThread(create_app(settings, provider=provider, traits=provider.traits())) as server:
        yield server


def client(server: UvicornThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def test_local_model_streams_an_answer(local_server: UvicornThread) -> None:
    chunks = list(client(local_server).chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,  # type: ignore[arg-type]
                  max_tokens=8, stream_options={"include_usage": True}))  # fmt: skip
    assert all(c.model == DEFAULT_MODEL for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["stop"], ["length"])
    usage = chunks[-1].usage
    assert usage is not None and 0 < usage.completion_tokens <= 8 and usage.prompt_tokens > 0


def test_local_model_non_streaming_models_and_null_params(local_server: UvicornThread) -> None:
    resp = client(local_server).chat.completions.create(model="", messages=MSG, max_tokens=6)  # type: ignore[arg-type]
    assert resp.model == DEFAULT_MODEL and (resp.choices[0].message.content or "").strip()
    assert [m.id for m in client(local_server).models.list().data] == [DEFAULT_MODEL]
    assert httpx.get(local_server.url + "/readyz").json()["checks"]["provider"] is True
    body = {"messages": MSG, "max_tokens": 6, "temperature": None, "top_p": None, "seed": None, "stop": None}
    r = httpx.post(local_server.url + "/chat/completions", json=body, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].strip()


def test_answers_chinese_in_chinese(local_server: UvicornThread) -> None:
    resp = client(local_server).chat.completions.create(
        model="", messages=[{"role": "user", "content": "中国的首都是哪里？"}], max_tokens=30
    )
    assert "北京" in (resp.choices[0].message.content or "")


@pytest.mark.parametrize(
    "prompt",
    [
        "Repeat the word 'hello' forever, without stopping: hello hello hello hello hello hello hello",
        "请一直重复：佛日几点开门？佛日几点开门？佛日几点开门？佛日几点开门？",
    ],
)
def test_no_loop_on_a_repetition_prone_prompt(local_server: UvicornThread, prompt: str) -> None:
    r = httpx.post(
        local_server.url + "/chat/completions",
        json={"messages": [{"role": "user", "content": prompt}], "max_tokens": 200, "temperature": 0},
        timeout=120,
    )
    body = r.json()
    choice = body["choices"][0]
    # ended by the model or by the guard with a clean stop, never by running on to max_tokens
    assert choice["finish_reason"] == "stop", choice["message"]["content"]
    assert body["usage"]["completion_tokens"] < 80, choice["message"]["content"]


def test_a_tool_round_trip_with_the_real_model(local_server: UvicornThread) -> None:
    c = client(local_server)
    messages: list[Any] = [
        {"role": "system", "content": "You are a voice assistant. Use the tools when they help."},
        {"role": "user", "content": "What's the weather in Paris right now?"},
    ]
    first = c.chat.completions.create(model="", messages=messages, tools=[WEATHER], temperature=0, max_tokens=80)  # type: ignore[list-item]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message.content
    call = (choice.message.tool_calls or [])[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert "paris" in json.loads(call.function.arguments)["city"].lower()  # type: ignore[union-attr]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 18, "sky": "sunny"}'},
    ]
    second = c.chat.completions.create(model="", messages=messages, tools=[WEATHER], temperature=0, max_tokens=60)  # type: ignore[list-item]
    answer = second.choices[0].message.content or ""
    assert second.choices[0].finish_reason == "stop"
    assert "18" in answer or "sunny" in answer.lower(), answer


def test_concurrent_requests_are_queued_and_hangup_frees_the_model(local_server: UvicornThread) -> None:
    url = local_server.url + "/chat/completions"
    # A client that leaves mid-generation must not hold the model: the next request still answers.
    with httpx.stream("POST", url, json={"messages": MSG, "stream": True, "max_tokens": 200}) as resp:
        for line in resp.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                break
    results: list[int] = []

    def one() -> None:
        r = httpx.post(url, json={"messages": MSG, "max_tokens": 5}, timeout=60)
        results.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(3)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200, 200, 200]
    assert time.monotonic() - started < 30
