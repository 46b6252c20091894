"""openai-node and the Vercel AI SDK (`@ai-sdk/openai-compatible`, `@ai-sdk/openai`) against the real server.

The clients are installed by `make setup-dev` (`npm ci` in tests/clients/node, from the committed lockfile),
never at test time. Each suite runs once in one `node` process (`node/clients.mjs`), which prints what the
client saw; the tests assert on that and on what the strict mock upstream received."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CLIENT_KEY, TEXT, Stack

NODE_DIR = Path(__file__).resolve().parent / "node"
if shutil.which("node") is None:
    pytest.skip("node is not installed: the Node.js client tests need Node.js 18+", allow_module_level=True)
if not (NODE_DIR / "node_modules" / "ai").is_dir():
    pytest.skip("the Node.js clients are not installed: run `make setup-dev` (npm ci in tests/clients/node)",
                allow_module_level=True)  # fmt: skip

Suite = Callable[[str], tuple[dict[str, Any], str]]


@pytest.fixture(scope="module")
def suite(stack: Stack) -> Suite:
    """`suite(name)` → (what the clients saw, the marker its hang-up request carried); each runs once."""
    ran: dict[str, tuple[dict[str, Any], str]] = {}

    def run(name: str) -> tuple[dict[str, Any], str]:
        if name not in ran:
            marker = f"node-hup-{uuid.uuid4().hex[:8]}"
            env = {**os.environ, "CONVOAI_BASE": stack.base_url, "CONVOAI_KEY": CLIENT_KEY, "CONVOAI_MARKER": marker}
            done = subprocess.run(["node", "clients.mjs", name], cwd=NODE_DIR, env=env, capture_output=True,
                                  text=True, timeout=90, check=True)  # fmt: skip
            ran[name] = (json.loads(done.stdout), marker)
        return ran[name]

    return run


# the last: the SDK's default openai(model), which calls the Responses API
AI_SDK = ["ai-sdk-compatible", "ai-sdk-openai-chat", "ai-sdk-openai-default"]


@pytest.mark.parametrize("name", ["openai-node", *AI_SDK])
def test_stream_token_by_token(suite: Suite, name: str) -> None:
    seen = suite(name)[0]["stream"]
    assert seen["deltas"] == [TEXT.split(" ")[0], *(" " + w for w in TEXT.split(" ")[1:])]
    assert seen["finish"] == "stop"
    if name != "openai-node":
        assert seen["usage"]["totalTokens"] > 0 and seen["modelId"] == "mock-stream"


@pytest.mark.parametrize("name", ["openai-node", *AI_SDK])
def test_non_stream(suite: Suite, name: str) -> None:
    seen = suite(name)[0]["nonstream"]
    assert seen["text"] == TEXT and seen["finish"] == "stop"


def test_openai_node_stream_usage_and_helper(suite: Suite) -> None:
    seen = suite("openai-node")[0]
    assert seen["stream"]["usage"]["total_tokens"] > 0
    assert seen["helper"] == {"text": TEXT, "events": len(TEXT.split(" "))}


@pytest.mark.parametrize("name", ["openai-node", *AI_SDK])
def test_tools_round_trip(suite: Suite, name: str) -> None:
    seen = suite(name)[0]["tools"]
    assert (seen["name"], seen["args"]) == ("get_weather", {"city": "Paris"})
    assert seen["answer"] == "The tool said: sunny, 24 C"


@pytest.mark.parametrize(
    ("name", "case", "error", "status"),
    [
        ("openai-node", "error400", "BadRequestError", 400),
        ("openai-node", "error401", "AuthenticationError", 401),
        ("openai-node", "error503", "InternalServerError", 503),
        *[(n, "error400", "APICallError", 400) for n in AI_SDK],
        *[(n, "error503", "APICallError", 503) for n in AI_SDK],
    ],
)
def test_errors_are_the_clients_own_classes(suite: Suite, name: str, case: str, error: str, status: int) -> None:
    seen = suite(name)[0][case]["error"]
    assert (seen["name"], seen["status"]) == (error, status)
    assert CLIENT_KEY not in seen["message"] and "127.0.0.1" not in seen["message"]


def test_ai_sdk_401(suite: Suite) -> None:
    seen = suite("ai-sdk-401")[0]["error"]
    assert seen["isApiCallError"] and seen["status"] == 401


@pytest.mark.parametrize("name", ["openai-node", *AI_SDK])
def test_hang_up_closes_the_upstream(stack: Stack, suite: Suite, name: str) -> None:
    seen, marker = suite(name)
    assert seen["hangup"] == {"chunks": 3}
    stack.wait_upstream_closed(marker)
