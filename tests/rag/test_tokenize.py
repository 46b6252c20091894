from __future__ import annotations

from convoai_llm.rag.tokenize import Tokenizer, cjk_share


def test_english_lowercase_stop_words_and_numbers(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("What are the Opening HOURS at 7.30? It's late!") == [
        "opening",
        "hours",
        "7.30",
        "it's",
        "late",
    ]


def test_stop_words_optional() -> None:
    assert Tokenizer(stop_words=False, cjk_chars=False).tokenize("the price") == ["the", "price"]


def test_chinese_uses_jieba_words_and_characters(tokenizer: Tokenizer) -> None:
    terms = tokenizer.tokenize("北门服务中心的营业时间")
    assert {"北门", "服务中心", "营业", "时间", "营业时间"} <= set(terms)
    assert "的" not in terms  # a stop word
    assert "营" in terms  # single characters match differently segmented words
    words_only = Tokenizer(cjk_chars=False).tokenize("北门服务中心的营业时间")
    assert "营" not in words_only


def test_mixed_text_keeps_both(tokenizer: Tokenizer) -> None:
    terms = tokenizer.tokenize("Zephyr日卡价格是15元 Day Pass")
    assert {"zephyr", "日卡", "价格", "15", "day", "pass"} <= set(terms)


def test_full_width_forms_are_normalised(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("\uff21\uff30\uff30 \uff11\uff12") == ["app", "12"]  # full-width APP 12


def test_cjk_share() -> None:
    assert cjk_share("hello") == 0.0
    assert cjk_share("价格") == 1.0
    assert cjk_share("") == 0.0
