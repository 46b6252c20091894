"""Retrieval quality on the labelled set (hit@3 floor 0.9; MRR printed, run with -s to see it)."""

from __future__ import annotations

from convoai_llm.rag.retrieve import Retriever
from tests.rag.conftest import EXAMPLES
from tests.rag.eval_set import OFF_TOPIC, QUESTIONS, Question


def rank_of(retriever: Retriever, question: Question) -> int | None:
    passages = retriever.search_sync(question.text, k=10)
    source = str(EXAMPLES / question.source)
    return next((n for n, p in enumerate(passages, start=1) if p.source == source and question.answer in p.text), None)


def test_eval_set_is_big_enough_and_bilingual() -> None:
    assert len(QUESTIONS) >= 30
    assert sum(q.source.startswith("zh/") for q in QUESTIONS) >= 10
    assert sum(q.paraphrase for q in QUESTIONS) >= 8


def test_hit_at_3_and_mrr(retriever: Retriever) -> None:
    ranks = [rank_of(retriever, q) for q in QUESTIONS]
    hit3 = sum(1 for r in ranks if r is not None and r <= 3) / len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
    zh = [r for q, r in zip(QUESTIONS, ranks, strict=True) if q.source.startswith("zh/")]
    para = [r for q, r in zip(QUESTIONS, ranks, strict=True) if q.paraphrase]
    misses = [q.text for q, r in zip(QUESTIONS, ranks, strict=True) if r is None or r > 3]
    print(f"\nretrieval over examples/knowledge: {len(ranks)} questions, hit@3 {hit3:.3f}, MRR {mrr:.3f}")
    print(f"  chinese hit@3 {sum(1 for r in zh if r and r <= 3) / len(zh):.3f}")
    print(f"  paraphrased hit@3 {sum(1 for r in para if r and r <= 3) / len(para):.3f}; misses: {misses}")
    assert hit3 >= 0.9
    assert mrr >= 0.8


def test_off_topic_questions_get_no_passage(retriever: Retriever) -> None:
    for question in OFF_TOPIC:
        assert retriever.search_sync(question) == [], question


def test_top_k_limits(retriever: Retriever) -> None:
    assert len(retriever.search_sync("How much does the Day Pass cost?", k=1)) == 1
    assert retriever.search_sync("How much does the Day Pass cost?", k=0) == []
    assert retriever.search_sync("   ") == []


def test_readme_sunday_question_finds_northgate(retriever: Retriever) -> None:
    """The README's example: "Open ... including Sundays" must match "opening ... Sunday" (English stems)."""
    passages = retriever.search_sync("What are your opening hours on Sunday?")
    assert any("Northgate" in p.text and "including Sundays" in p.text for p in passages[:3])
