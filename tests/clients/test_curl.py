"""curl with `--http1.1`, `--http1.0` and `--http2` (an h2c upgrade offer on http://) against the real server."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.clients.conftest import CLIENT_KEY, TEXT, WEATHER_TOOL, Stack

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
# curl --http2 on http:// offers an h2c upgrade: the guarded protocol answers over HTTP/1.1 with the body
# (issue 14 item 3; uvicorn #2722 dropped it)
VERSIONS = [pytest.param("--http1.1"), pytest.param("--http1.0"), pytest.param("--http2")]


def ask(text: str, **kw: Any) -> dict[str, Any]:
    return {"model": "mock-stream", "messages": [{"role": "user", "content": text}], **kw}


@dataclass
class Reply:
    code: int
    """curl's exit code: 22 is its own error for an HTTP status >= 400 (`--fail-with-body`), 28 its timeout."""
    headers: str
    body: str

    def events(self) -> list[Any]:
        data = [line[6:] for line in self.body.splitlines() if line.startswith("data: ")]
        assert data and data[-1] == "[DONE]", self.body[-300:]
        return [json.loads(d) for d in data[:-1]]


def curl(stack: Stack, version: str, body: dict[str, Any], key: str = CLIENT_KEY, *extra: str) -> Reply:
    url = stack.base_url + "/chat/completions"
    cmd = ["curl", "-sS", "-N", version, "--fail-with-body", "-D", "-", "-H", "Content-Type: application/json",
           "-H", f"Authorization: Bearer {key}", "--data-binary", "@-", *extra, url]  # fmt: skip
    done = subprocess.run(cmd, input=json.dumps(body), capture_output=True, text=True, timeout=60, check=False)
    head, _, rest = done.stdout.partition("\n\n")  # text mode: curl's CRLFs arrive as \n
    while rest.startswith("HTTP/"):  # a 1xx interim response (101 Switching Protocols) came first
        head, _, rest = rest.partition("\n\n")
    return Reply(done.returncode, head.lower(), rest)


@pytest.mark.parametrize("version", VERSIONS)
def test_stream(stack: Stack, version: str) -> None:
    reply = curl(stack, version, ask("Hi", stream=True, stream_options={"include_usage": True}))
    assert reply.code == 0 and "text/event-stream" in reply.headers
    events = reply.events()
    deltas = [e["choices"][0]["delta"].get("content") for e in events if e["choices"]]
    assert "".join(d for d in deltas if d) == TEXT and len([d for d in deltas if d]) == len(TEXT.split(" "))
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_non_stream(stack: Stack, version: str) -> None:
    reply = curl(stack, version, ask("Hi"))
    assert reply.code == 0, reply.body
    assert json.loads(reply.body)["choices"][0]["message"]["content"] == TEXT


@pytest.mark.parametrize("version", VERSIONS)
def test_tools_round_trip(stack: Stack, version: str) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = curl(stack, version, {"model": "mock-tools", "messages": messages, "tools": [WEATHER_TOOL]})
    assert first.code == 0, first.body
    message = json.loads(first.body)["choices"][0]["message"]
    call = message["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    messages += [message, {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 24 C"}]
    second = curl(stack, version, {"model": "mock-tools", "messages": messages, "tools": [WEATHER_TOOL]})
    assert json.loads(second.body)["choices"][0]["message"]["content"] == "The tool said: sunny, 24 C"


# 401 is answered before the body is read, so it works over the h2c offer today.
CASES = [
    pytest.param(v, *case)
    for v in ("--http1.1", "--http1.0", "--http2")
    for case in [
        (ask("Hi", temperature=5), CLIENT_KEY, 400, "temperature"),
        (ask("Hi"), "sk-wrong", 401, None),
        ({**ask("Hi"), "model": "mock-503"}, CLIENT_KEY, 503, None),
    ]
]


@pytest.mark.parametrize(("version", "body", "key", "status", "param"), CASES)
def test_errors(stack: Stack, version: str, body: dict[str, Any], key: str, status: int, param: str | None) -> None:
    reply = curl(stack, version, body, key)
    assert reply.code == 22 and reply.headers.split()[1] == str(status)
    error = json.loads(reply.body)["error"]
    assert error["param"] == param and error["message"] and CLIENT_KEY not in reply.body


@pytest.mark.parametrize("version", VERSIONS)
def test_hang_up_closes_the_upstream(stack: Stack, version: str) -> None:
    marker = f"curl-hup-{uuid.uuid4().hex[:8]}"
    reply = curl(stack, version, {**ask(marker, stream=True), "model": "mock-long"}, CLIENT_KEY, "--max-time", "1")
    assert reply.code == 28 and reply.body.count("data: ") >= 3  # streamed for a second, then curl gave up
    stack.wait_upstream_closed(marker)


def test_http10_stream_is_close_delimited(stack: Stack) -> None:
    reply = curl(stack, "--http1.0", ask("Hi", stream=True), CLIENT_KEY, "--raw")
    assert reply.code == 0 and "transfer-encoding" not in reply.headers
    assert reply.body.startswith("data: ")  # no chunk-size line before the first event
