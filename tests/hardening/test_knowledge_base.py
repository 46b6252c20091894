"""Items 7 and 8 of issue 17, over real sockets: a damaged knowledge base (at start-up or while serving)
degrades RAG instead of stopping the server, with one log line per state change; the `/v1/kb/*` routes
sit under the in-flight limit; a huge RAG question reaches retrieval cut to `MAX_QUERY_CHARS`."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from convoai_llm.core.retrieval import MAX_QUERY_CHARS
from convoai_llm.providers.scripted import ScriptedProvider
from tests.conftest import ServeFn
from tests.servers import MockUpstream

MSG = [{"role": "user", "content": "When do you open?"}]
GARBAGE = b"SQLite format 3\x00" + b"\xff" * 4096


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("knowledge base failed")]


def assert_degraded(url: str) -> None:
    ready = httpx.get(url + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded" and ready.json()["failed"] == ["rag"]
    assert httpx.post(url + "/v1/chat/completions", json={"model": "mock-stream", "messages": MSG}).status_code == 200
    rag = httpx.post(url + "/v1/rag/chat/completions", json={"model": "mock-stream", "messages": MSG}, timeout=30)
    assert rag.status_code == 200 and rag.json()["choices"][0]["message"]["content"]


def test_corrupt_knowledge_base_at_start_up_degrades(
    serve: ServeFn, upstream: MockUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = tmp_path / "kb.sqlite3"
    kb.write_bytes(GARBAGE)
    caplog.set_level(logging.INFO)
    server = serve(openai_base_url=upstream.url, openai_api_key="k", kb_path=kb, rag_refresh_interval_s=0.1)
    assert_degraded(server.url)
    assert len(failures(caplog)) == 1 and str(tmp_path) not in caplog.text


def test_knowledge_base_damaged_while_serving_logs_once(
    serve: ServeFn, upstream: MockUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = tmp_path / "kb.sqlite3"
    caplog.set_level(logging.INFO)
    server = serve(openai_base_url=upstream.url, openai_api_key="k", kb_path=kb, rag_refresh_interval_s=0.1)
    assert httpx.get(server.url + "/readyz").json()["status"] == "ready"
    kb.write_bytes(GARBAGE)
    time.sleep(1.5)  # ~15 refreshes
    assert_degraded(server.url)
    assert len(failures(caplog)) == 1


class Recorder:
    """A searcher that records the queries it gets (the seam between the RAG stage and the store)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def search(self, query: str, k: int | None = None) -> list[Any]:
        self.queries.append(query)
        return []


def test_kb_routes_are_limited_and_rag_queries_capped(serve: ServeFn) -> None:
    model = ScriptedProvider()
    model.enqueue_text(*["word "] * 40, delay=0.05)  # a 2 s stream holds the only in-flight slot
    searcher = Recorder()
    server = serve(provider=model, searcher=searcher, max_inflight=1)
    opened = threading.Event()

    def hold() -> None:
        with httpx.stream("POST", server.url + "/v1/chat/completions", timeout=30,
                          json={"messages": MSG, "stream": True}) as resp:  # fmt: skip
            for _ in resp.iter_lines():
                opened.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert opened.wait(10)
    for path in ("/v1/kb/search?q=hours", "/v1/kb/documents"):
        refused = httpx.get(server.url + path)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1", path
    holder.join(15)
    question = [{"role": "user", "content": ("x" * 899_990) + " open when"}]  # 900 KB, under the 1 MiB body cap
    resp = httpx.post(server.url + "/v1/rag/chat/completions", json={"messages": question}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert searcher.queries and len(searcher.queries[-1]) <= MAX_QUERY_CHARS
    assert searcher.queries[-1].endswith("open when")


def test_kb_searches_never_spend_the_callers_request_budget(serve: ServeFn) -> None:
    """KB routes pass the in-flight cap but not the token bucket: 10 searches, then a completion still answers."""
    server = serve(provider=ScriptedProvider(), searcher=Recorder(), rate_limit_rps=0.01, rate_limit_burst=2)
    for _ in range(10):
        assert httpx.get(server.url + "/v1/kb/search?q=hours").status_code == 200
    codes = [httpx.post(server.url + "/v1/chat/completions", json={"messages": MSG}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # the completion bucket (burst 2) is untouched by the searches
