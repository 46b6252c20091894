"""Both mock upstreams, when strict, answer what OpenAI rejects with OpenAI's 400 and error body."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.openai_rules import find_spec
from tests.servers import MockUpstream

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
BAD: list[tuple[dict[str, Any], str | None, str]] = [
    ({**GOOD, "app_id": "a1"}, None, "Unrecognized request argument supplied: app_id"),
    (
        {**GOOD, "messages": [{"role": "user", "content": "hi", "turn_id": 1}]},
        "messages[0]",
        "'turn_id' was unexpected",
    ),
    ({**GOOD, "tools": []}, "tools", "empty array"),
    ({**GOOD, "modalities": ["audio"], "audio": {"voice": "alloy", "format": "pcm16"}}, "modalities", "audio"),
]
TYPED: list[tuple[dict[str, Any], str | None, str]] = [
    ({**GOOD, "temperature": "warm"}, "temperature", "Invalid type for 'temperature'"),
    ({**GOOD, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "Missing required"),
    ({**GOOD, "n": 0}, "n", "below minimum"),
]


def needs_types(case: tuple[dict[str, Any], str | None, str]) -> Any:
    no_spec = pytest.mark.skipif(find_spec() is None, reason="type checks need OpenAI's spec in ../shared")
    return pytest.param(*case, marks=no_spec)


@pytest.fixture(scope="module")
def bench_mock() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.mock_upstream", "--port", "0", "--strict", "--no-uvloop"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line
        yield f"http://127.0.0.1:{line.split()[1]}/v1"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def test_mock() -> Iterator[str]:
    with MockUpstream() as mock:
        yield mock.url


@pytest.mark.parametrize("which", ["test_mock", "bench_mock"])
@pytest.mark.parametrize(("body", "param", "words"), [*BAD, *map(needs_types, TYPED)])
def test_rejected_as_openai_does(request: pytest.FixtureRequest, which: str, body: dict[str, Any],
                                 param: str | None, words: str) -> None:  # fmt: skip
    resp = httpx.post(request.getfixturevalue(which) + "/chat/completions", json=body, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and words in error["message"]
    if param is not None:
        assert error["param"] == param


@pytest.mark.parametrize("which", ["test_mock", "bench_mock"])
def test_a_clean_request_streams(request: pytest.FixtureRequest, which: str) -> None:
    body = {**GOOD, "temperature": None, "stream_options": {"include_usage": True}}
    resp = httpx.post(request.getfixturevalue(which) + "/chat/completions", json=body, timeout=10)
    assert resp.status_code == 200 and resp.text.rstrip().endswith("data: [DONE]")


def test_lenient_mock_accepts_anything() -> None:
    with MockUpstream(strict=False) as mock:
        resp = httpx.post(mock.url + "/chat/completions", json={**GOOD, "app_id": "a1", "tools": []}, timeout=10)
    assert resp.status_code == 200
