"""Explicit nulls on the embedded model (issue 14, bug 1): openai-python sends `"temperature": null` for
`temperature=None`; OpenAI takes it as "the default", and so must the local model (it answered 500)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import openai
import pytest

from convoai_llm.api.app import create_app
from convoai_llm.providers.local import find_default_model
from tests.conftest import make_settings
from tests.servers import UvicornThread

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(find_default_model() is None, reason="the default model's packages are not installed"),
]


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with UvicornThread(create_app(make_settings(provider="local", local_max_queue=4))) as server:
        yield openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("stream", [False, True])
def test_null_sampling_params_answer(client: openai.OpenAI, stream: bool) -> None:
    nulls = {"temperature": None, "top_p": None, "extra_body": {"seed": None, "presence_penalty": None}}
    if stream:
        chunks = list(client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Say hi."}],
                                                     max_tokens=4, stream=True, **nulls))  # type: ignore[call-overload]  # fmt: skip
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
        assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    else:
        resp = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Say hi."}],
                                              max_tokens=4, **nulls)  # type: ignore[call-overload]  # fmt: skip
        assert (resp.choices[0].message.content or "").strip()
