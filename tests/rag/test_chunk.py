from __future__ import annotations

import itertools

import pytest

from convoai_llm.rag.chunk import Chunker, measure


def test_measure_counts_cjk_three_times() -> None:
    assert measure("abc") == 3
    assert measure("价格") == 6
    assert measure("a价") == 4


def test_headings_become_path_and_split_sections() -> None:
    text = (
        "# Guide\n\nIntro text.\n\n## Pricing\n\nDay pass is 15.\n\n"
        "### Students\n\nHalf price.\n\n## Hours\n\nOpen 9-5."
    )
    chunks = Chunker().chunk(text, "Guide")
    assert [c.heading for c in chunks] == [
        "Guide",
        "Guide > Pricing",
        "Guide > Pricing > Students",
        "Guide > Hours",
    ]
    assert chunks[2].text == "Guide > Pricing > Students\nHalf price."
    assert [c.position for c in chunks] == [0, 1, 2, 3]


def test_paragraphs_pack_up_to_size_and_soft_wraps_join() -> None:
    paragraphs = [f"Paragraph {i} has some words in it.\nIt wraps onto a second line." for i in range(12)]
    chunks = Chunker(size=200, overlap=0).chunk("\n\n".join(paragraphs))
    assert len(chunks) > 1
    assert all(measure(c.text) <= 200 for c in chunks)
    assert "in it. It wraps" in chunks[0].text  # a soft line break inside a paragraph is a space
    joined = "\n".join(c.text for c in chunks)
    assert all(f"Paragraph {i} " in joined for i in range(12))


def test_long_paragraph_splits_at_sentences_with_overlap() -> None:
    sentences = [f"Sentence number {i} says something short." for i in range(30)]
    chunks = Chunker(size=200, overlap=60).chunk(" ".join(sentences))
    assert len(chunks) > 3
    assert all(measure(c.text) <= 200 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        last_sentence = before.text.split(". ")[-1]
        assert after.text.startswith(last_sentence.rstrip(".")), "next chunk starts with the overlap"


def test_chinese_splits_at_full_width_stops_and_joins_without_spaces() -> None:
    text = "# 价格\n\n" + "".join(f"第{i}条规定说明了价格。" for i in range(40))
    chunks = Chunker(size=120, overlap=0).chunk(text)
    assert len(chunks) > 3
    assert all(measure(c.text) <= 120 for c in chunks)
    assert all(c.text.startswith("价格\n") for c in chunks)
    assert " " not in chunks[0].text


def test_giant_sentence_is_hard_cut() -> None:
    chunks = Chunker(size=100, overlap=0).chunk("x" * 450)
    assert [len(c.text) for c in chunks] == [100, 100, 100, 100, 50]


def test_empty_text_and_bad_settings() -> None:
    assert Chunker().chunk("  \n\n ") == []
    with pytest.raises(ValueError, match="size"):
        Chunker(size=100, overlap=60)
