"""English stems for BM25: word forms meet, Chinese and numbers pass unchanged, the index matches them."""

from __future__ import annotations

import numpy as np

from convoai_llm.rag.index import Index, Thresholds
from convoai_llm.rag.stem import EnglishStemmer
from convoai_llm.rag.store import Snapshot
from convoai_llm.rag.tokenize import Tokenizer


def test_word_forms_share_a_stem_and_other_terms_pass() -> None:
    stemmer = EnglishStemmer()
    assert stemmer.stem(["mutations", "mutation"]) == ["mutat", "mutat"]
    assert stemmer.stem(["营业时间", "7.30", "2024"]) == ["营业时间", "7.30", "2024"]
    assert stemmer.stem_many([["riding"], ["rides", "门"]]) == [["ride"], ["ride", "门"]]


def test_index_finds_a_chunk_through_another_word_form() -> None:
    tokenizer = Tokenizer()
    texts = ["Mutations of the gene increase the risk.", "Bikes are rented by the day."]
    snapshot = Snapshot(
        version=1,
        chunk_ids=[1, 2],
        texts=texts,
        terms=[tokenizer.tokenize(t) for t in texts],
        sources=["a.md", "b.md"],
        titles=["a", "b"],
        embeddings=np.zeros((2, 4), dtype=np.float32),
        positions=[0, 0],
    )
    ranking = Index(snapshot).lexical(tokenizer.tokenize("a mutation increases risks"), Thresholds(min_bm25=0.01))
    assert ranking.rows[:1] == [0]
