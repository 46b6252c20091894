# ruff: noqa: RUF001
"""`/rag/chat/completions` end to end: waiting chunk first (before retrieval ends), passages upstream."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from convoai_llm.rag.passage import Passage
from tests.conftest import UPSTREAM_KEY, ServeFn
from tests.servers import MockUpstream

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "knowledge"


class SlowSearcher:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.queries: list[str] = []
        self.finished_at: float | None = None

    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        self.queries.append(query)
        await asyncio.sleep(self.delay)
        self.finished_at = time.monotonic()
        return [Passage("The Aurora Pro costs 49 euros a month.", "pricing.md", "Pricing", 0.9, 1)]


def test_waiting_chunk_before_retrieval_then_grounded_answer(serve: ServeFn, upstream: MockUpstream) -> None:
    searcher = SlowSearcher(0.6)
    server = serve(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY, searcher=searcher)
    messages = [{"role": "system", "content": "You are Ada."}, {"role": "user", "content": "How much is the Pro?"}]
    sent = time.monotonic()
    arrivals: list[tuple[float, dict[str, object]]] = []
    body = {"model": "mock-stream", "messages": messages, "stream": True}
    with httpx.stream("POST", server.url + "/v1/rag/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                arrivals.append((time.monotonic(), orjson.loads(line[6:])))
            elif line == "data: [DONE]":
                break
    contents = [c["choices"][0]["delta"].get("content") for _, c in arrivals if c["choices"]]  # type: ignore[index]
    waiting_at = next(t for (t, c), text in zip(arrivals, contents, strict=True) if text)
    assert contents[1] == "Let me check that for you. "  # a space before the answer that follows
    assert searcher.finished_at is not None and waiting_at < searcher.finished_at
    assert waiting_at - sent < 1.0  # generous: the machine is shared; the order above is the point
    assert "".join(t or "" for t in contents[2:]) == upstream.text
    assert searcher.queries == ["How much is the Pro?"]
    upstream_messages = upstream.seen[-1].body["messages"]
    assert upstream_messages[0] == {"role": "system", "content": "You are Ada."}
    assert upstream_messages[1]["role"] == "system" and "49 euros" in upstream_messages[1]["content"]
    assert '{"source": 1, "title": "Pricing"' in upstream_messages[1]["content"]  # quoted as data (issue 17.9)
    assert upstream_messages[2] == {"role": "user", "content": "How much is the Pro?"}


def test_rag_with_openai_client_chinese_and_non_streaming(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", searcher=SlowSearcher(0.0))
    client = openai.OpenAI(base_url=server.url + "/v1/rag", api_key="x", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="mock-stream", messages=[{"role": "user", "content": "专业版多少钱？"}], stream=True
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.content for c in chunks][1] == "我查一下，请稍等。"
    assert chunks[-1].choices[0].finish_reason == "stop" and len({c.id for c in chunks}) == 1
    whole = client.chat.completions.create(model="mock-stream", messages=[{"role": "user", "content": "Price?"}])
    assert whole.choices[0].message.content == upstream.text  # no waiting text in a JSON answer


def test_waiting_message_can_be_switched_off_and_timeout_budget(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", searcher=SlowSearcher(5.0),
                   rag_waiting_message="", rag_timeout_s=0.2)  # fmt: skip
    started = time.monotonic()
    client = openai.OpenAI(base_url=server.url + "/v1/rag", api_key="x", max_retries=0)
    chunks = list(client.chat.completions.create(model="mock-stream", messages=[{"role": "user", "content": "Hi"}],
                                                 stream=True))  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == upstream.text
    assert time.monotonic() - started < 3
    system = upstream.seen[-1].body["messages"][0]
    assert system["role"] == "system" and "no information" in system["content"]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="the rag extra is not installed")
def test_real_knowledge_base_reaches_the_upstream(serve: ServeFn, upstream: MockUpstream, tmp_path: Path) -> None:
    from convoai_llm.rag.seed import seed_if_empty

    db = tmp_path / "kb.sqlite3"
    assert seed_if_empty(db, EXAMPLES) > 0
    server = serve(openai_base_url=upstream.url, openai_api_key="k", kb_path=db)
    client = openai.OpenAI(base_url=server.url + "/v1/rag", api_key="x", max_retries=0)
    client.chat.completions.create(
        model="mock-stream", messages=[{"role": "user", "content": "What are your opening hours on Sunday?"}]
    )
    added = upstream.seen[-1].body["messages"][0]
    assert added["role"] == "system" and '{"source": 1' in added["content"]
    assert "sunday" in added["content"].lower()
    assert httpx.get(server.url + "/readyz").json()["checks"]["rag"] is True


def test_sources_reported_when_asked(serve: ServeFn, upstream: MockUpstream) -> None:
    server = serve(openai_base_url=upstream.url, openai_api_key="k", searcher=SlowSearcher(0.0))
    body = {"model": "mock-stream", "messages": [{"role": "user", "content": "Price?"}], "stream": True}
    with httpx.stream("POST", server.url + "/rag/chat/completions", json={**body, "rag_sources": True}) as resp:
        chunks = [orjson.loads(x[6:]) for x in resp.iter_lines() if x.startswith("data: {")]
    sources = [c["x_convoai"]["sources"] for c in chunks if "x_convoai" in c]
    assert sources == [[{"title": "Pricing", "source": "pricing.md", "chunk_id": 1, "score": 0.9}]]
    marked = next(i for i, c in enumerate(chunks) if "x_convoai" in c)
    assert chunks[marked]["choices"] == [] and chunks[marked - 1]["choices"][0]["delta"]["content"].startswith("Let me")
    with httpx.stream("POST", server.url + "/rag/chat/completions", json=body) as resp:
        assert not any("x_convoai" in x for x in resp.iter_lines())  # off unless asked or configured
    whole = httpx.post(server.url + "/rag/chat/completions", json={**body, "stream": False, "rag_sources": True}).json()
    assert whole["x_convoai"]["sources"][0]["title"] == "Pricing"
    upstream_body = upstream.seen[-1].body
    assert "rag_sources" not in upstream_body
