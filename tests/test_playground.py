"""The playground's server side: `/` and its assets are public, the KB admin routes are behind the key.

The page itself is tested in a real browser in tests/playground/test_browser.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import httpx
import pytest

from convoai_llm.providers.scripted import ScriptedProvider
from convoai_llm.rag.passage import Passage
from tests.conftest import ServeFn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "knowledge"
KEY = "pg-key-123"
needs_rag = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="the rag extra is not installed")


class FakeSearcher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        self.calls.append((query, k))
        found = [Passage(f"passage {i} about {query}", f"doc{i}.md", f"Doc {i}", 1.0 / (i + 1), i) for i in range(5)]
        return found[: k or 3]


def test_page_and_assets_are_public_kb_routes_need_the_key(serve: ServeFn, tmp_path: Path) -> None:
    searcher = FakeSearcher()
    server = serve(provider=ScriptedProvider(), searcher=searcher, api_keys=KEY, kb_path=tmp_path / "kb.sqlite3")
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert '<meta name="convoai-rag-waiting" content="on">' in html
    # every asset the page loads is local: no scheme-qualified URL in src/href
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for asset, kind in (("app.js", "javascript"), ("style.css", "css")):
        resp = httpx.get(f"{server.url}/static/{asset}")
        assert resp.status_code == 200 and kind in resp.headers["content-type"] and resp.content
        assert f"/static/{asset}" in html
    assert "http" not in httpx.get(server.url + "/static/app.js").text  # fetches relative paths only
    missing = httpx.get(server.url + "/static/../settings.py")
    assert missing.status_code == 404 and "error" in missing.json()
    assert httpx.get(server.url + "/static/secrets.txt").status_code == 404

    for path in ("/v1/kb/documents", "/kb/documents", "/v1/kb/search?q=hours"):
        denied = httpx.get(server.url + path)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
        wrong = httpx.get(server.url + path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {KEY}"}
    docs = httpx.get(server.url + "/v1/kb/documents", headers=auth)
    assert docs.status_code == 200 and docs.json() == {"object": "list", "data": []}  # no KB file yet
    assert not (tmp_path / "kb.sqlite3").exists()  # listing never creates the file


def test_kb_search_uses_the_rag_searcher_with_its_top_k(serve: ServeFn, tmp_path: Path) -> None:
    searcher = FakeSearcher()
    server = serve(provider=ScriptedProvider(), searcher=searcher, rag_top_k=2, kb_path=tmp_path / "kb.sqlite3")
    body = httpx.get(server.url + "/v1/kb/search", params={"q": "  opening hours "}).json()
    assert searcher.calls == [("opening hours", 2)]
    assert body["object"] == "list" and body["query"] == "opening hours" and body["k"] == 2
    assert [p["source"] for p in body["data"]] == ["doc0.md", "doc1.md"]
    assert body["data"][0] == {"object": "kb.passage", "rank": 1, "source": "doc0.md", "title": "Doc 0",
                               "text": "passage 0 about opening hours", "score": 1.0, "chunk_id": 0}  # fmt: skip
    assert len(httpx.get(server.url + "/kb/search", params={"q": "x", "k": "5"}).json()["data"]) == 5
    for params, param in (({}, "q"), ({"q": " "}, "q"), ({"q": "x", "k": "0"}, "k"), ({"q": "x", "k": "abc"}, "k"),
                          ({"q": "x", "k": "21"}, "k"), ({"q": "x" * 2001}, "q")):  # fmt: skip
        resp = httpx.get(server.url + "/v1/kb/search", params=params)
        assert resp.status_code == 400 and resp.json()["error"]["param"] == param, params


def test_kb_unavailable_is_503_and_waiting_switch_reaches_the_page(
    serve: ServeFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("convoai_llm.core.services.open_knowledge_base", lambda settings: None)
    server = serve(provider=ScriptedProvider(), rag_waiting_message="", kb_path=tmp_path / "kb.sqlite3")
    for path in ("/v1/kb/documents", "/v1/kb/search?q=hours"):
        resp = httpx.get(server.url + path)
        assert resp.status_code == 503
        error = resp.json()["error"]
        assert error["code"] == "service_unavailable" and "knowledge base" in error["message"]
    assert '<meta name="convoai-rag-waiting" content="off">' in httpx.get(server.url + "/").text


@needs_rag
def test_kb_routes_over_a_real_knowledge_base(serve: ServeFn, tmp_path: Path) -> None:
    from convoai_llm.rag.seed import seed_if_empty

    db = tmp_path / "kb.sqlite3"
    assert seed_if_empty(db, EXAMPLES) > 0
    server = serve(provider=ScriptedProvider(), kb_path=db)
    docs = httpx.get(server.url + "/v1/kb/documents").json()["data"]
    sources = {d["source"] for d in docs}
    assert any(s.endswith("opening-hours.md") for s in sources) and all(d["chunks"] > 0 for d in docs)
    hits = httpx.get(server.url + "/v1/kb/search", params={"q": "What are your opening hours on Sunday?"}).json()
    assert hits["data"] and hits["data"][0]["source"].endswith("opening-hours.md")
    assert len(hits["data"]) == 3  # rag_top_k: the passages the RAG route injects
    assert any("sunday" in p["text"].lower() for p in hits["data"])
    corrupt = tmp_path / "bad.sqlite3"
    corrupt.write_bytes(b"not a database" * 100)
    server2 = serve(provider=ScriptedProvider(), searcher=FakeSearcher(), kb_path=corrupt)
    assert httpx.get(server2.url + "/v1/kb/documents").status_code == 503
