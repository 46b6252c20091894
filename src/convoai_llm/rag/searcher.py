"""Searcher: the one protocol for anything that finds passages for a query.

The knowledge base's `Retriever` is one; the RAG stage (`core/retrieval.py`), the `knowledge_search` tool
(`tools/builtin.py`) and the playground's search route all take a `Searcher`, so a test double or another
index fits everywhere at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from convoai_llm.rag.passage import Passage


class Searcher(Protocol):
    async def search(self, query: str, k: int | None = None) -> Sequence[Passage]:
        """The best passages for `query`, best first (at most `k`, or the retriever's own default)."""
        ...
