"""Two `convoai-llm serve` processes on one PostgreSQL knowledge base and one Redis: a document ingested
through the CLI is answered from by the other replica without a restart, and limits hold across both."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.scaleout.conftest import Replica, Services, StartFn, kb_cli
from tests.servers import MockUpstream

MSG = [{"role": "user", "content": "How much does the Zorblat 9 scooter cost to rent?"}]
# keys of this run only: the Redis buckets outlive a run (refilled at 0.05/s), and other runs may share Redis
RUN = uuid.uuid4().hex[:8]
RAG_KEY, RATE_KEY, STREAMS_KEY = f"key-rag-{RUN}", f"key-rate-{RUN}", f"key-streams-{RUN}"
KEYS = f"{RAG_KEY},{RATE_KEY},{STREAMS_KEY}"
LIMITS = {"CONVOAI_API_KEYS": KEYS, "CONVOAI_RATE_LIMIT_RPS": "0.05", "CONVOAI_RATE_LIMIT_BURST": "5",
          "CONVOAI_MAX_STREAMS_PER_KEY": "1"}  # fmt: skip


@pytest.fixture(scope="module")
def pair(replicas_factory: StartFn) -> list[Replica]:
    return replicas_factory(2, **LIMITS)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def search(replica: Replica, query: str) -> list[dict[str, object]]:
    resp = httpx.get(replica.url + "/v1/kb/search", params={"q": query}, headers=auth(RAG_KEY), timeout=10)
    assert resp.status_code == 200, resp.text
    data: list[dict[str, object]] = resp.json()["data"]
    return data


def complete(replica: Replica, key: str, model: str = "mock-stream", route: str = "/v1/chat/completions") -> int:
    body = {"model": model, "messages": MSG}
    return httpx.post(replica.url + route, json=body, headers=auth(key), timeout=30).status_code


def test_ingest_through_the_cli_answer_through_both_replicas(
    pair: list[Replica], services: Services, upstream: MockUpstream, tmp_path: Path
) -> None:
    a, b = pair
    assert not any("Zorblat" in str(p["text"]) for p in search(b, MSG[0]["content"]))
    doc = tmp_path / "zorblat.md"
    doc.write_text("# Zorblat rentals\n\nThe Zorblat 9 electric scooter costs 77 euros a day to rent.\n")
    added = kb_cli("add", str(doc), url=services.kb_url, cwd=tmp_path)
    assert added.returncode == 0 and "1 added" in added.stdout, added.stderr
    committed = time.monotonic()
    seen_by: dict[str, float] = {}
    while len(seen_by) < 2 and time.monotonic() - committed < 15:
        for name, replica in (("a", a), ("b", b)):
            if name not in seen_by and any("77 euros" in str(p["text"]) for p in search(replica, MSG[0]["content"])):
                seen_by[name] = time.monotonic() - committed
        time.sleep(0.1)
    print(f"\nnew document visible after: {seen_by}")
    assert set(seen_by) == {"a", "b"}, f"not visible everywhere after 15 s: {seen_by}"
    assert max(seen_by.values()) < 5.0  # refresh interval 0.5 s + rebuild; bounded, no restart
    upstream.seen.clear()
    body = {"model": "mock-stream", "messages": MSG, "stream": True}
    with httpx.stream("POST", b.url + "/v1/rag/chat/completions", json=body, headers=auth(RAG_KEY)) as resp:
        assert resp.status_code == 200
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    grounding = upstream.seen[-1].body["messages"][0]
    assert grounding["role"] == "system" and "77 euros" in grounding["content"]
    listed = kb_cli("list", url=services.kb_url, cwd=tmp_path)
    assert str(doc.resolve()) in listed.stdout
    documents = httpx.get(a.url + "/v1/kb/documents", headers=auth(RAG_KEY)).json()["data"]  # the playground's list
    assert any(
        str(doc.resolve()).endswith(d["source"]) and not d["source"].startswith("/") for d in documents
    )  # KB-relative (issue 14.6)
    removed = kb_cli("remove", str(doc), url=services.kb_url, cwd=tmp_path)
    assert removed.returncode == 0
    deadline = time.monotonic() + 10
    while any("77 euros" in str(p["text"]) for p in search(a, MSG[0]["content"])):
        assert time.monotonic() < deadline, "a removed document is still served"
        time.sleep(0.1)


def test_rate_limit_is_shared_by_both_replicas(pair: list[Replica]) -> None:
    a, b = pair
    for replica in pair:  # readiness covers the shared services: PostgreSQL (the KB) and Redis (the limits)
        assert httpx.get(replica.url + "/readyz").json()["checks"] == {"provider": True, "rag": True, "limits": True}
    codes = [complete(replica, RATE_KEY) for replica in (a, b, a, b, a, b, a)]
    assert codes == [200] * 5 + [429] * 2  # one bucket of 5 for the key, not 5 per replica
    assert complete(b, RAG_KEY) == 200  # other keys keep their own bucket


def test_stream_cap_is_shared_by_both_replicas(pair: list[Replica]) -> None:
    a, b = pair
    body = {"model": "mock-long", "messages": MSG, "stream": True}
    with httpx.stream("POST", a.url + "/chat/completions", json=body, headers=auth(STREAMS_KEY)) as first:
        lines = first.iter_lines()  # keep a reference: a dropped iterator closes the response (a hang-up)
        next(lines)
        second = httpx.post(b.url + "/chat/completions", json=body, headers=auth(STREAMS_KEY), timeout=10)
        assert second.status_code == 429 and "concurrent streams" in second.json()["error"]["message"]
    deadline = time.monotonic() + 5
    while (status := complete(b, STREAMS_KEY)) == 429:  # the slot is released when A's stream ends
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status == 200
