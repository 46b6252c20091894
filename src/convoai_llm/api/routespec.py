"""The route table: one `RouteSpec` per completion route feeds the routers, the fast path, the limits
middleware, the metrics labels and the OpenAPI document. A new route is one line here (plus its parser
and encoder when its wire format is new)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convoai_llm.api.encoding import ChatEncoder, EncoderFactory
from convoai_llm.api.wire_encoders import CompletionsWire, ResponsesWire
from convoai_llm.core.plan import Kind
from convoai_llm.schemas.completions import parse_completions
from convoai_llm.schemas.request import ChatRequest, parse_chat_request
from convoai_llm.schemas.responses import parse_responses


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    """Canonical path (also served under `/v1`)."""
    kind: Kind
    rate_limited: bool = True
    parse: Callable[[bytes], ChatRequest] = parse_chat_request
    encoder: EncoderFactory = ChatEncoder
    schema: str = "ChatRequest"
    """The request body's component name in the OpenAPI document."""

    @property
    def paths(self) -> tuple[str, str]:
        return self.path, "/v1" + self.path


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/chat/completions", "chat"),
    RouteSpec("/rag/chat/completions", "rag"),
    RouteSpec("/audio/chat/completions", "audio"),
    # Other wire formats on the same pipeline (issue 14): the Responses API (RAG under the `/rag` prefix,
    # as for chat) and legacy completions.
    RouteSpec("/responses", "chat", parse=parse_responses, encoder=ResponsesWire, schema="ResponsesRequest"),
    RouteSpec("/rag/responses", "rag", parse=parse_responses, encoder=ResponsesWire, schema="ResponsesRequest"),
    RouteSpec("/completions", "chat", parse=parse_completions, encoder=CompletionsWire, schema="CompletionRequest"),
)

KB_PATHS = ("/kb/documents", "/v1/kb/documents", "/kb/search", "/v1/kb/search")
"""The knowledge-base routes (`api/playground.py`): under the same in-flight cap as completions and a per-key
concurrency cap of their own; they never spend a caller's request budget (the token bucket)."""


def by_path(routes: tuple[RouteSpec, ...] = ROUTES) -> dict[str, RouteSpec]:
    """Every served path (canonical and `/v1`) → its spec."""
    return {path: spec for spec in routes for path in spec.paths}
