"""Diverse passages: at most N chunks per document, and neighbouring chunks of one document merged.

Ten fused results used to be five documents on average: near-duplicate neighbours (chunks overlap by a
sentence) crowded out other sources. ``pick`` walks the fused ranking best first, skips a chunk once its
document has ``per_document`` chunks, and joins chunks that sit next to each other in their document into
one passage (the repeated heading line and the overlapping sentences are dropped), until ``k`` passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convoai_llm.rag.passage import Passage
from convoai_llm.rag.store import Snapshot

_SENTENCE_ENDS = ".!?;\u3002\uff01\uff1f\uff1b"


@dataclass(slots=True)
class _Group:
    """The chosen chunks of one document that sit next to each other (one passage)."""

    rows: list[int]
    score: float
    rank: int
    best: int


def pick(fused: Sequence[tuple[int, float]], snapshot: Snapshot, k: int, per_document: int) -> list[Passage]:
    """Up to ``k`` passages from ``fused`` ((row, score) best first), capped and merged as described."""
    if k <= 0:
        return []
    cap = max(1, per_document)
    groups: dict[str, list[_Group]] = {}
    for rank, (row, score) in enumerate(fused):
        source = snapshot.sources[row]
        mine = groups.setdefault(source, [])
        if sum(len(g.rows) for g in mine) >= cap:
            continue
        _place(mine, row, score, rank, snapshot)
        if sum(len(mine) for mine in groups.values()) >= k:
            break
    ordered = sorted((g for mine in groups.values() for g in mine), key=lambda g: g.rank)
    return [_passage(group, snapshot) for group in ordered[:k]]


def _position(snapshot: Snapshot, row: int) -> int:
    return snapshot.positions[row] if snapshot.positions else row


def _place(groups: list[_Group], row: int, score: float, rank: int, snapshot: Snapshot) -> None:
    """Adds ``row`` to the group it touches (merging two groups it bridges), or starts a new group."""
    position = _position(snapshot, row)
    touching = [g for g in groups if any(abs(_position(snapshot, member) - position) == 1 for member in g.rows)]
    if not touching:
        groups.append(_Group([row], score, rank, row))
        return
    first = touching[0]
    first.rows.append(row)
    for other in touching[1:]:
        first.rows.extend(other.rows)
        if other.rank < first.rank:
            first.rank, first.best = other.rank, other.best
        first.score = max(first.score, other.score)
        groups.remove(other)
    first.rows.sort(key=lambda member: _position(snapshot, member))


def _passage(group: _Group, snapshot: Snapshot) -> Passage:
    text = snapshot.texts[group.rows[0]]
    for row in group.rows[1:]:
        text = merge_texts(text, snapshot.texts[row])
    best = group.best
    return Passage(
        text,
        snapshot.sources[best],
        snapshot.titles[best],
        round(group.score, 6),
        snapshot.chunk_ids[best],
        tuple(snapshot.chunk_ids[row] for row in group.rows),
    )


def merge_texts(first: str, second: str) -> str:
    """Two neighbouring chunks as one text: the second's heading line (when it is the first's) and the
    sentences it repeats from the end of the first (the chunker's overlap) are dropped."""
    head, newline, body = second.partition("\n")
    if not (newline and first.partition("\n")[0] == head):
        body = second
    overlap = _overlap(first, body)
    rest = body[overlap:]
    joiner = rest[0] if overlap and rest[:1].isspace() else ("" if overlap else "\n")
    rest = rest.lstrip()
    return f"{first}{joiner}{rest}" if rest else first


def _overlap(first: str, body: str) -> int:
    """The longest start of ``body`` that ends ``first`` and begins a sentence there (0 when none), at least
    2 characters and shorter than ``first``. Only the places where ``first`` has ``body``'s first character
    are tried (longest first), so the search is linear in practice, not quadratic."""
    if not body:
        return 0
    start = first.find(body[0], max(len(first) - len(body), 1))
    while 0 <= start <= len(first) - 2:
        if body.startswith(first[start:]) and (first[start - 1].isspace() or first[start - 1] in _SENTENCE_ENDS):
            return len(first) - start
        start = first.find(body[0], start + 1)
    return 0
