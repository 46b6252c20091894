"""Document prior: whole-document BM25 lifts a document whose words are spread over its chunks."""

from __future__ import annotations

import numpy as np

from convoai_llm.rag.documents import DocumentPrior
from convoai_llm.rag.store import Snapshot
from convoai_llm.rag.tokenize import Tokenizer

TEXTS = [
    "Gene therapy trial in mice.",  # a.md, chunk 0
    "Survival improved after treatment.",  # a.md, chunk 1
    "Gene expression atlas.",  # b.md
    "Bicycle rental prices.",  # c.md
]


def _prior() -> tuple[DocumentPrior, list[list[str]]]:
    tokenizer = Tokenizer()
    terms = [tokenizer.tokenize(t) for t in TEXTS]
    snapshot = Snapshot(
        version=1,
        chunk_ids=[1, 2, 3, 4],
        texts=TEXTS,
        terms=terms,
        sources=["a.md", "a.md", "b.md", "c.md"],
        titles=["a", "a", "b", "c"],
        embeddings=np.zeros((4, 2), dtype=np.float32),
        positions=[0, 1, 0, 0],
    )
    return DocumentPrior(snapshot, terms, candidates=30), terms


def test_document_matching_across_chunks_overtakes_a_one_chunk_match() -> None:
    prior, _ = _prior()
    query = Tokenizer().tokenize("gene therapy survival")
    fused = [(2, 0.9), (0, 0.8)]  # b.md's chunk first by chunk score
    chunk_scores = np.array([1.0, 0.5, 0.4, 0.0], dtype=np.float32)
    boosted = prior.boost(fused, query, 1.0, chunk_scores, floor=0.1)
    assert boosted[0][0] == 0  # a.md: gene + therapy + survival over its two chunks
    assert prior.boost(fused, query, 0.0, chunk_scores, floor=0.1) == fused


def test_a_document_enters_only_through_a_chunk_above_the_floor() -> None:
    prior, _ = _prior()
    query = Tokenizer().tokenize("bicycle prices")
    chunk_scores = np.array([0.0, 0.0, 0.0, 2.0], dtype=np.float32)
    assert [row for row, _ in prior.boost([], query, 1.0, chunk_scores, floor=1.0)] == [3]
    assert prior.boost([], query, 1.0, chunk_scores, floor=3.0) == []
