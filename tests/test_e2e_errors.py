"""Auth and bad input over a real socket: every client mistake is a 4xx with an OpenAI error body."""

from __future__ import annotations

import httpx
import openai
import pytest

from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import UvicornThread

MSG = [{"role": "user", "content": "Hi"}]
KEY = "server-key-abc"


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider(model="scripted-model")


@pytest.fixture
def server(serve: ServeFn, scripted: ScriptedProvider) -> UvicornThread:
    return serve(provider=scripted, max_body_bytes=4096)


@pytest.fixture
def secured(serve: ServeFn, scripted: ScriptedProvider) -> UvicornThread:
    return serve(provider=scripted, api_keys=f"{KEY},second-key")


def assert_error(resp: httpx.Response, status: int, param: str | None = None) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if param is not None:
        assert err["param"] == param
    return dict(err)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", None),
        (b'{"model": "m"}', "messages"),
        (b'{"messages": []}', "messages"),
        (b'{"messages": "hello"}', "messages"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', "messages[0].role"),
        (b'{"messages": [{"role": "user", "content": 42}]}', "messages[0].content"),
        (b'{"messages": [{"role": "user"}]}', "messages[0]"),
        (b'{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', "temperature"),
        (b'{"messages": [{"role": "user", "content": "x"}], "temperature": 9}', "temperature"),
        (b'{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
        (b'{"messages": [{"role": "user", "content": "x"}], "n": 3}', "n"),
        (b'{"messages": [{"role": "tool", "content": "x"}]}', "messages[0]"),
        (b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}', None),
    ],
)
def test_bad_input_is_400_naming_param(server: UvicornThread, body: bytes, param: str | None) -> None:
    resp = httpx.post(server.url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    err = assert_error(resp, 400, param)
    assert err["type"] == "invalid_request_error"


def test_oversized_body_is_413(server: UvicornThread) -> None:
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(httpx.post(server.url + "/chat/completions", json=big), 413)


def test_oversized_chunked_body_is_413(server: UvicornThread) -> None:
    def body() -> object:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    assert_error(httpx.post(server.url + "/chat/completions", content=body()), 413)  # type: ignore[arg-type]


def test_unknown_route_is_404_envelope(server: UvicornThread) -> None:
    assert_error(httpx.get(server.url + "/v1/nothing-here"), 404)


def test_unknown_fields_are_accepted(server: UvicornThread, scripted: ScriptedProvider) -> None:
    body = {"messages": MSG, "turn_id": 4, "timestamp": 1700000000000, "params": {"x": 1}, "brand_new": True}
    resp = httpx.post(server.url + "/chat/completions", json=body)
    assert resp.status_code == 200
    assert resp.json()["model"] == "scripted-model"
    assert "brand_new" not in scripted.history[-1].params


def test_auth_required_when_keys_configured(secured: UvicornThread) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        resp = httpx.post(secured.url + "/chat/completions", json={"messages": MSG}, headers=headers)
        err = assert_error(resp, 401)
        assert err["code"] == "invalid_api_key"
        assert KEY not in resp.text
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=secured.url + "/v1", api_key="nope", max_retries=0).models.list()
    for key in (KEY, "second-key"):
        ok = openai.OpenAI(base_url=secured.url + "/v1", api_key=key, max_retries=0)
        assert ok.chat.completions.create(model="x", messages=MSG).choices[0].message.content == "ok"  # type: ignore[arg-type]
    assert httpx.get(secured.url + "/healthz").status_code == 200
    assert httpx.get(secured.url + "/readyz").status_code == 200
    assert httpx.get(secured.url + "/metrics").status_code == 401


def test_models_health_and_metrics(server: UvicornThread) -> None:
    models = openai.OpenAI(base_url=server.url + "/v1", api_key="x").models.list()
    assert [m.id for m in models.data] == ["scripted-model"]
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["provider"] is True
    httpx.post(server.url + "/chat/completions", json={"messages": MSG, "stream": True})
    httpx.post(server.url + "/chat/completions", json={"messages": []})
    text = httpx.get(server.url + "/metrics").text
    assert 'convoai_requests_total{route="/chat/completions",status="200"} 1.0' in text
    assert 'convoai_requests_total{route="/chat/completions",status="400"} 1.0' in text
    assert 'convoai_time_to_first_token_seconds_count{route="/chat/completions"} 1.0' in text
    assert 'convoai_inflight_streams{route="/chat/completions"} 0.0' in text
