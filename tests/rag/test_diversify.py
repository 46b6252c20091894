"""At most N chunks per document, neighbouring chunks merged into one passage."""

from __future__ import annotations

import numpy as np

from convoai_llm.rag.chunk import Chunker
from convoai_llm.rag.diversify import merge_texts, pick
from convoai_llm.rag.store import Snapshot


def snapshot(chunks: list[tuple[str, int, str]]) -> Snapshot:
    """(source, position, text) per row."""
    return Snapshot(
        version=1,
        chunk_ids=[100 + i for i in range(len(chunks))],
        texts=[text for _, _, text in chunks],
        terms=[[] for _ in chunks],
        sources=[source for source, _, _ in chunks],
        titles=[source.upper() for source, _, _ in chunks],
        embeddings=np.zeros((len(chunks), 2), dtype=np.float32),
        positions=[position for _, position, _ in chunks],
    )


SNAP = snapshot(
    [
        ("a", 0, "H\nA zero."),
        ("a", 1, "H\nA one."),
        ("a", 5, "H\nA five."),
        ("b", 0, "B zero."),
        ("c", 0, "C zero."),
        ("a", 2, "H\nA two."),
    ]
)


def test_cap_per_document_lets_other_documents_in() -> None:
    fused = [(2, 0.9), (0, 0.8), (5, 0.7), (3, 0.6), (4, 0.5)]
    one = pick(fused, SNAP, k=3, per_document=1)
    assert [p.source for p in one] == ["a", "b", "c"] and one[0].text == "H\nA five."
    two = pick(fused, SNAP, k=3, per_document=2)
    assert [p.source for p in two] == ["a", "a", "b"]  # a5 and a0: not neighbours, two passages


def test_neighbours_merge_into_one_passage_at_the_best_rank() -> None:
    fused = [(3, 0.9), (1, 0.8), (0, 0.7), (5, 0.6), (4, 0.5), (2, 0.4)]
    passages = pick(fused, SNAP, k=3, per_document=3)
    assert [p.source for p in passages] == ["b", "a", "c"]
    merged = passages[1]
    assert merged.text == "H\nA zero.\nA one.\nA two." and merged.chunk_ids == (100, 101, 105)
    assert merged.chunk_id == 101 and merged.score == 0.8  # the best member's id and score


def test_merge_drops_repeated_heading_and_overlap() -> None:
    assert merge_texts("Pricing\nOne. Two. Three.", "Pricing\nThree. Four.") == "Pricing\nOne. Two. Three. Four."
    assert merge_texts("A\nfirst", "B\nsecond") == "A\nfirst\nB\nsecond"  # another heading: kept
    assert merge_texts("H\nab. cd", "H\nd ef") == "H\nab. cd\nd ef"  # "d" is not a whole sentence: no overlap
    assert (
        merge_texts("价格\n日卡15元。月卡49元。", "价格\n月卡49元。年卡299元。")
        == "价格\n日卡15元。月卡49元。年卡299元。"
    )


def test_merging_real_chunks_restores_the_section() -> None:
    sentences = " ".join(f"Rule {n} says riders keep to the path number {n}." for n in range(40))
    chunks = Chunker(300, 60).chunk(f"# Safety\n\n{sentences}")
    assert len(chunks) > 3
    text = chunks[0].text
    for chunk in chunks[1:]:
        text = merge_texts(text, chunk.text)
    assert text == f"Safety\n{sentences}"
