"""Item 10 of issue 17, over real sockets: control characters in logged values are escaped (one record,
one line), and `metadata` is never forwarded upstream (the README's promise)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import orjson
import pytest

from convoai_llm.api.logfilter import escape
from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import MockUpstream
from tests.tools.helpers import calls_pass, text_pass

FORGED = "x\nINFO: request route=/forged outcome=ok \x1b[31mred\x1b[0m"


def test_control_characters_are_escaped_in_every_log_record(
    serve: ServeFn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tool = tmp_path / "angry.py"
    tool.write_text("def angry(city: str) -> str:\n    raise ValueError(city)\n")
    config = tmp_path / "tools.toml"
    config.write_text(f'[[functions]]\ntarget = "{tool.name}:angry"\n')
    model = ScriptedProvider()
    model.enqueue(calls_pass(("angry", orjson.dumps({"city": FORGED}).decode())))
    model.enqueue(text_pass("Sorry."))
    server = serve(provider=model, tools_config=config)
    caplog.set_level(logging.INFO)
    resp = httpx.post(server.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "Go"}]})
    assert resp.status_code == 200
    logged = [r for r in caplog.records if "angry" in r.getMessage()]
    assert logged, "the tool failure was not logged"
    for record in caplog.records:
        text = record.getMessage()
        assert "\n" not in text and "\x1b" not in text, text
    assert any("\\x0aINFO: request route=/forged" in r.getMessage() for r in logged)
    assert escape("a\r\nb\x1b\u2028") == "a\\x0d\\x0ab\\x1b\\u2028"


def test_metadata_is_never_forwarded_upstream(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k")
    upstream.seen.clear()
    body = {"model": "mock-stream", "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"channel": "room-1", "user_uid": "42"}, "temperature": 0.5}  # fmt: skip
    assert httpx.post(server.url + "/v1/chat/completions", json=body).status_code == 200
    sent = upstream.seen[-1].body
    assert "metadata" not in sent and sent["temperature"] == 0.5
