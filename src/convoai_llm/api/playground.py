"""The playground page at `GET /` and the knowledge-base admin routes it uses.

`/` and its three assets under `/static/` are public (they hold no data; DESIGN.md exempts `/`). The
page calls the chat routes with the key typed into it (kept in memory only). The KB routes sit behind
the same bearer auth as the chat routes:

- `GET /v1/kb/documents` (and `/kb/documents`): the documents in the knowledge base (`kb_url` or `kb_path`).
- `GET /v1/kb/search?q=…&k=…` (and `/kb/search`): the passages the RAG route's retriever returns for
  `q`; `k` defaults to `rag_top_k`, so the same question gives the sources the RAG route used.
Both answer 503 (OpenAI error body) when the knowledge base is unavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from convoai_llm.api.context import AppContext
from convoai_llm.api.errors import json_response
from convoai_llm.api.routes import app_context
from convoai_llm.core.knowledge import list_documents
from convoai_llm.core.retrieval import MAX_QUERY_CHARS, Retrieval, passage_wire
from convoai_llm.errors import KnowledgeBaseUnavailable, RequestError, error_envelope

log = logging.getLogger("convoai_llm.playground")
router = APIRouter()

MAX_K = 20
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
# The page may only talk to this server: the browser enforces "no external network requests".
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@functools.cache
def _asset(name: str) -> bytes:
    return resources.files("convoai_llm").joinpath("static", name).read_bytes()


def _rag_waiting_mode(ctx: AppContext) -> str:
    """`on` when the RAG route sends a waiting chunk first, `off` when it is switched off."""
    return "off" if ctx.rag.waiting_message == "" else "on"


@router.get("/", include_in_schema=False)
async def playground(request: Request) -> Response:
    ctx = app_context(request)
    page = _asset("index.html").replace(b"{{RAG_WAITING}}", _rag_waiting_mode(ctx).encode())
    return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return json_response(error_envelope(f"Unknown asset: {name}", "invalid_request_error", None, "not_found"), 404)
    return Response(_asset(name), media_type=media_type, headers=PAGE_HEADERS)


def _retrieval(request: Request) -> tuple[AppContext, Retrieval]:
    ctx = app_context(request)
    ctx.auth.check(request.headers.get("authorization"))
    if ctx.services.retrieval is None:
        raise KnowledgeBaseUnavailable("The knowledge base is not available (install the `rag` extra: make setup).")
    return ctx, ctx.services.retrieval


@router.get("/kb/documents")
@router.get("/v1/kb/documents")
async def kb_documents(request: Request) -> Response:
    ctx, _ = _retrieval(request)
    try:
        docs = await asyncio.to_thread(list_documents, ctx.rag)
    except Exception as exc:  # any backend failure (SQLite, PostgreSQL, a missing extra) is a 503
        log.warning("knowledge base listing failed: %s", type(exc).__name__)
        raise KnowledgeBaseUnavailable("The knowledge base cannot be read.") from None
    return json_response({"object": "list", "data": docs})


def _parse_k(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        k = int(raw)
    except ValueError:
        raise RequestError("`k` must be an integer.", param="k") from None
    if not 1 <= k <= MAX_K:
        raise RequestError(f"`k` must be between 1 and {MAX_K}.", param="k")
    return k


@router.get("/kb/search")
@router.get("/v1/kb/search")
async def kb_search(request: Request) -> Response:
    ctx, retrieval = _retrieval(request)
    query = (request.query_params.get("q") or "").strip()
    if not query:
        raise RequestError("`q` is required: the text to search the knowledge base for.", param="q")
    if len(query) > MAX_QUERY_CHARS:
        raise RequestError(f"`q` is longer than {MAX_QUERY_CHARS} characters.", param="q")
    k = _parse_k(request.query_params.get("k"), ctx.rag.top_k)
    try:
        async with asyncio.timeout(max(ctx.rag.timeout_s, 5.0)):
            passages = await retrieval.searcher.search(query, k)
    except TimeoutError:
        raise KnowledgeBaseUnavailable("The knowledge base search timed out.") from None
    except Exception as exc:  # any backend failure (SQLite, PostgreSQL, a missing extra) is a 503
        log.warning("knowledge base search failed: %s", type(exc).__name__)
        raise KnowledgeBaseUnavailable("The knowledge base cannot be searched.") from None
    data = [passage_wire(p, rank=i + 1) for i, p in enumerate(passages[:k])]
    return json_response({"object": "list", "query": query, "k": k, "data": data})
