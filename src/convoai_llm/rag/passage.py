"""Passage: one retrieved chunk as the retriever returns it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk. ``score`` is its reciprocal-rank-fusion score (higher is better)."""

    text: str
    source: str
    title: str
    score: float
    chunk_id: int
