"""The Responses API and legacy completions answered by the real embedded model (llama.cpp, the default GGUF)."""

from __future__ import annotations

import importlib.util

import openai
import pytest

from convoai_llm.api.app import create_app
from convoai_llm.providers.local import LocalProvider
from convoai_llm.providers.local_catalog import DEFAULT_MODEL, installed, spec_for
from tests.conftest import make_settings
from tests.servers import UvicornThread

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(not installed(spec_for(DEFAULT_MODEL)), reason="the default model's packages are not installed"),
]


def client(server: UvicornThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)


def test_local_model_answers_responses_and_completions() -> None:
    settings = make_settings(provider="local", local_max_queue=4)
    provider = LocalProvider(settings)
    provider.load()  # before the server's start-up deadline (slow on a loaded machine)
    app = create_app(settings, provider=provider, traits=provider.traits())
    with UvicornThread(app) as server, client(server) as api:
        check(api, provider.models()[0])


def check(api: openai.OpenAI, name: str) -> None:
    resp = api.responses.create(model="anything", input="Say hello.", max_output_tokens=8)
    assert resp.model == name
    assert resp.output_text.strip()
    assert resp.status in ("completed", "incomplete")
    assert resp.usage is not None
    assert 0 < resp.usage.output_tokens <= 8
    # 8 tokens usually cut the answer: `response.incomplete` (max_output_tokens), as OpenAI ends such a
    # stream, and the SDK's `stream().get_final_response()` accepts only `response.completed`: read events.
    events = list(api.responses.create(model="anything", input="Say hello.", max_output_tokens=8, stream=True))
    deltas = [ev.delta for ev in events if ev.type == "response.output_text.delta"]
    last = events[-1]
    assert last.type in ("response.completed", "response.incomplete")
    assert "".join(deltas) == last.response.output_text
    assert last.response.output_text.strip()
    done = api.completions.create(model="anything", prompt="Say hello.", max_tokens=8)
    assert done.choices[0].text.strip()
    assert done.choices[0].finish_reason in ("stop", "length")
