"""Passage: one retrieved chunk (or neighbouring chunks of one document, merged) as the retriever returns it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage. ``score`` is its fusion score (higher is better); ``chunk_id`` its best chunk,
    ``chunk_ids`` every chunk merged into it, in document order (empty when built by hand)."""

    text: str
    source: str
    title: str
    score: float
    chunk_id: int
    chunk_ids: tuple[int, ...] = ()
