"""`POST /v1/responses` end to end: the official `openai` client over a real socket, the scripted
provider or the mock upstream behind; every raw event checked against OpenAI's spec."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from convoai_llm.errors import UpstreamTimeout, UpstreamUnavailable
from convoai_llm.events import Finish, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.scripted import Fail, ScriptedProvider
from tests.conftest import UPSTREAM_KEY, ServeFn
from tests.servers import MockUpstream, UvicornThread
from tests.surface.conftest import ClientFn
from tests.surface.wire import check_response, responses_events

TOOL = {"type": "function", "name": "weather", "description": "Weather for a city.", "strict": False,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}  # fmt: skip


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider(model="resp-model")


@pytest.fixture
def server(serve: ServeFn, scripted: ScriptedProvider) -> UvicornThread:
    return serve(provider=scripted)


def test_create_non_stream(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue([Started("resp-model"), TextDelta("Hello "), TextDelta("there."), Finish("stop"), Usage(9, 2)])
    resp = client(server).responses.create(model="resp-model", input="Hi", instructions="Be brief.",
                                           max_output_tokens=64, temperature=0.2)  # fmt: skip
    assert resp.output_text == "Hello there."
    assert resp.status == "completed"
    assert resp.id.startswith("resp_")
    assert resp.model == "resp-model"
    assert resp.instructions == "Be brief."
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (9, 2)
    asked = scripted.history[-1]
    assert asked.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert asked.params == {"max_tokens": 64, "temperature": 0.2}
    scripted.enqueue_text("Raw.")
    raw = httpx.post(server.url + "/v1/responses", json={"input": "Hi", "tools": [TOOL], "metadata": {"k": "v"}})
    body = raw.json()
    check_response(body)
    assert (body["tools"], body["metadata"], body["status"]) == ([TOOL], {"k": "v"}, "completed")


def test_stream_events_in_order_and_valid(server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue_text("One", " two", " three.")
    with httpx.stream("POST", server.url + "/v1/responses", json={"input": "Count", "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read()
    events = responses_events(raw)  # each against the spec and the SDK's own types
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "One two three."
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "One two three."


def test_sdk_stream_helper_and_iteration(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue_text("Hello", " world.")
    with client(server).responses.stream(model="resp-model", input="Hi") as stream:
        deltas = [ev.delta for ev in stream if ev.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["Hello", " world."]
    assert final.output_text == "Hello world."
    scripted.enqueue_text("Again.")
    kinds = [ev.type for ev in client(server).responses.create(model="resp-model", input="Hi", stream=True)]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"


def test_tool_call_round_trip(client: ClientFn, server: UvicornThread, scripted: ScriptedProvider) -> None:
    scripted.enqueue([Started("resp-model"), ToolCallDelta(0, "call_7", "function", "weather", ""),
                      ToolCallDelta(0, arguments='{"city": '), ToolCallDelta(0, arguments='"Paris"}'),
                      Finish("tool_calls"), Usage(20, 8)])  # fmt: skip
    api = client(server)
    with api.responses.stream(model="resp-model", input="Weather in Paris?", tools=[TOOL]) as stream:  # type: ignore[list-item]
        arg_deltas = [ev.delta for ev in stream if ev.type == "response.function_call_arguments.delta"]
        first = stream.get_final_response()
    assert arg_deltas == ['{"city": ', '"Paris"}']
    call = first.output[0]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_7", "weather", '{"city": "Paris"}')
    fn = {"name": "weather", "description": "Weather for a city.", "strict": False, "parameters": TOOL["parameters"]}
    assert scripted.history[-1].params["tools"] == [{"type": "function", "function": fn}]

    scripted.enqueue_text("It is 22 degrees in Paris.")
    follow = api.responses.create(model="resp-model", tools=[TOOL], input=[  # type: ignore[list-item]
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": "call_7", "name": "weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_7", "output": '{"temp_c": 22}'},
    ])  # fmt: skip
    assert follow.output_text == "It is 22 degrees in Paris."
    turns = scripted.history[-1].messages
    assert turns[1]["tool_calls"][0]["id"] == "call_7"
    assert turns[2] == {"role": "tool", "content": '{"temp_c": 22}', "tool_call_id": "call_7"}


def test_errors_before_the_first_byte_are_the_sdks_error_classes(client: ClientFn, server: UvicornThread,
                                                                scripted: ScriptedProvider) -> None:  # fmt: skip
    api = client(server)
    with pytest.raises(openai.BadRequestError) as bad:
        api.responses.create(model="m", input="x", previous_response_id="resp_1")
    assert bad.value.body["param"] == "previous_response_id"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        api.responses.create(model="m", input=[{"type": "computer_call_output"}])  # type: ignore[list-item]
    assert bad.value.body["param"] == "input[0].type"  # type: ignore[index]
    scripted.enqueue([Fail(UpstreamUnavailable("Cannot connect to the upstream (main)."))])
    with pytest.raises(openai.InternalServerError) as down:
        api.responses.create(model="m", input="x", stream=True)
    assert down.value.status_code == 503


def test_error_mid_stream_is_error_then_response_failed(
    client: ClientFn, server: UvicornThread, scripted: ScriptedProvider
) -> None:
    scripted.enqueue([Started("resp-model"), TextDelta("Part"), Fail(UpstreamTimeout("The upstream stalled."))])
    with httpx.stream("POST", server.url + "/v1/responses", json={"input": "x", "stream": True}) as r:
        events = responses_events(r.read())
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1]["response"]["error"] == {"code": "server_error", "message": "The upstream stalled."}
    scripted.enqueue([Started("resp-model"), TextDelta("Part"), Fail(UpstreamTimeout("The upstream stalled."))])
    with pytest.raises(openai.APIStatusError) as non_stream:
        client(server).responses.create(model="m", input="x")
    assert non_stream.value.status_code == 504


def test_auth_applies(client: ClientFn, serve: ServeFn, scripted: ScriptedProvider) -> None:
    server = serve(provider=scripted, api_keys="k1")
    with pytest.raises(openai.AuthenticationError):
        client(server).responses.create(model="m", input="x")
    assert client(server, key="k1").responses.create(model="m", input="x").output_text == "ok"


def test_proxied_request_is_one_openai_accepts(client: ClientFn, serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY)
    upstream.seen.clear()
    resp = client(server).responses.create(
        model="mock-strict", input=[{"role": "developer", "content": "Short."}, {"role": "user", "content": "Hi"}],
        max_output_tokens=32, temperature=0.5, tools=[TOOL], tool_choice="auto",  # type: ignore[list-item]
        text={"format": {"type": "json_object"}}, metadata={"k": "v"}, store=True, extra_body={"app_id": "a1"},
    )  # fmt: skip
    assert resp.output_text == "Hello from the mock upstream ."
    assert resp.model == "mock-strict"
    sent = upstream.seen[-1].body
    assert sent["max_tokens"] == 32
    assert sent["response_format"] == {"type": "json_object"}
    assert "metadata" not in sent
    assert "store" not in sent
    assert "app_id" not in sent


def test_hang_up_closes_the_upstream(client: ClientFn, serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY)
    upstream.seen.clear()
    with client(server).responses.create(model="mock-long", input="x", stream=True) as stream:
        for received, _ in enumerate(stream, 1):
            if received == 5:
                break
    hung_up = time.monotonic()
    deadline = hung_up + 2
    while upstream.seen[-1].closed_at is None and time.monotonic() < deadline:
        time.sleep(0.005)
    closed_at = upstream.seen[-1].closed_at
    assert closed_at is not None, "the upstream connection was not closed"
    assert closed_at - hung_up < 0.2
    assert not upstream.seen[-1].finished


def test_rag_prefix_waiting_line_then_grounded_answer(
    client: ClientFn, serve: ServeFn, scripted: ScriptedProvider
) -> None:
    from convoai_llm.rag.passage import Passage

    class Searcher:
        async def search(self, query: str, k: int | None = None) -> list[Passage]:
            return [Passage("Day passes cost 12 euros.", "prices.md", "Prices", 0.9, 1)]

    server = serve(provider=scripted, searcher=Searcher(), rag_report_sources=True)
    scripted.enqueue_text("A day pass is 12 euros.")
    with client(server, prefix="/v1/rag").responses.stream(model="m", input="How much is a day pass?") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Let me check that for you. A day pass is 12 euros."
    system = [m["content"] for m in scripted.history[-1].messages if m["role"] == "system"]
    assert any("Day passes cost 12 euros." in str(s) for s in system)
    assert final.model_dump()["x_convoai"]["sources"][0]["source"] == "prices.md"
    scripted.enqueue_text("12 euros.")
    plain = client(server, prefix="/rag").responses.create(model="m", input="Day pass?")
    assert plain.output_text == "12 euros."  # no waiting line without a stream
