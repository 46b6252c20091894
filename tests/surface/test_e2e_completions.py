"""`POST /v1/completions`, `GET /v1/models/{id}` and `GET /ping` end to end, with the official `openai`
client over a real socket."""

from __future__ import annotations

import httpx
import openai
import pytest

from convoai_llm.errors import UpstreamTimeout
from convoai_llm.events import Finish, Started, TextDelta, Usage
from convoai_llm.providers.scripted import Fail, ScriptedProvider
from tests.conftest import UPSTREAM_KEY, ServeFn
from tests.contract import check
from tests.servers import MockUpstream, UvicornThread
from tests.surface.conftest import ClientFn


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider(model="cmpl-model")


@pytest.fixture
def server(serve: ServeFn, scripted: ScriptedProvider) -> UvicornThread:
    return serve(provider=scripted, api_keys="k1")


def test_completion_non_stream(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue([Started("cmpl-model"), TextDelta("Paris"), TextDelta("."), Finish("stop"), Usage(6, 2)])
    done = client(server, "k1").completions.create(model="cmpl-model", prompt="Capital of France?", max_tokens=20,
                                                   temperature=0.0, stop=["\n"])  # fmt: skip
    assert done.object == "text_completion"
    assert done.id.startswith("cmpl-")
    assert done.choices[0].text == "Paris."
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.total_tokens == 8
    asked = scripted.history[-1]
    assert asked.messages == [{"role": "user", "content": "Capital of France?"}]
    assert asked.params == {"max_tokens": 20, "temperature": 0.0, "stop": ["\n"]}
    scripted.enqueue_text("Raw.")
    raw = httpx.post(server.url + "/v1/completions", json={"model": "x", "prompt": ["Hi"]},
                     headers={"Authorization": "Bearer k1"})  # fmt: skip
    check("CreateCompletionResponse", raw.json())


def test_completion_stream_with_usage(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue([Started("cmpl-model"), TextDelta("One"), TextDelta(" two."), Finish("length"), Usage(3, 2)])
    stream = client(server, "k1").completions.create(model="cmpl-model", prompt="Count", stream=True,
                                                     stream_options={"include_usage": True})  # fmt: skip
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "One two."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2


def test_errors_are_the_sdks_error_classes(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(server, "wrong").completions.create(model="m", prompt="x")
    with pytest.raises(openai.BadRequestError) as bad:
        client(server, "k1").completions.create(model="m", prompt="x", echo=True)
    assert bad.value.body["param"] == "echo"  # type: ignore[index]
    scripted.enqueue([Started("cmpl-model"), TextDelta("Par"), Fail(UpstreamTimeout("The upstream stalled."))])
    stream = client(server, "k1").completions.create(model="m", prompt="x", stream=True)
    with pytest.raises(openai.APIError, match=r"The upstream stalled\."):
        for _ in stream:
            pass


def test_proxied_completion_is_a_request_openai_accepts(
    client: ClientFn, serve: ServeFn, upstream: MockUpstream
) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY)
    upstream.seen.clear()
    done = client(server).completions.create(model="mock-strict", prompt="Hi", max_tokens=16, seed=1,
                                             extra_body={"app_id": "a1"})  # fmt: skip
    assert done.choices[0].text == "Hello from the mock upstream ."
    sent = upstream.seen[-1].body
    assert sent["messages"] == [{"role": "user", "content": "Hi"}]
    assert (sent["max_tokens"], sent["seed"]) == (16, 1)
    assert "prompt" not in sent
    assert "app_id" not in sent


def test_model_by_id_and_unknown_model(client: ClientFn, server: UvicornThread) -> None:
    api = client(server, "k1")
    model = api.models.retrieve("cmpl-model")
    assert (model.id, model.object) == ("cmpl-model", "model")
    with pytest.raises(openai.NotFoundError) as missing:
        api.models.retrieve("gpt-nope")
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    raw = httpx.get(server.url + "/models/cmpl-model", headers={"Authorization": "Bearer k1"})
    check("Model", raw.json())
    unknown = httpx.get(server.url + "/v1/models/org/gpt-nope", headers={"Authorization": "Bearer k1"})
    assert unknown.status_code == 404
    check("ErrorResponse", unknown.json())
    assert httpx.get(server.url + "/v1/models/cmpl-model").status_code == 401


def test_ping_answers_pong_without_auth(server: UvicornThread) -> None:
    resp = httpx.get(server.url + "/ping")
    assert resp.status_code == 200
    assert resp.json() == {"message": "pong"}
