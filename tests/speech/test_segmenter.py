# ruff: noqa: RUF001, RUF003  (Chinese punctuation in test texts)
from __future__ import annotations

import random

import pytest

from convoai_llm.speech.segmenter import Segmenter, is_cjk, weight


def whole(text: str, **kwargs: int) -> list[str]:
    seg = Segmenter(**kwargs)
    return seg.push(text) + seg.flush()


def by_char(text: str, **kwargs: int) -> list[str]:
    seg = Segmenter(**kwargs)
    out: list[str] = []
    for char in text:
        out += seg.push(char)
    return out + seg.flush()


def by_pieces(text: str, rng: random.Random) -> list[str]:
    seg = Segmenter()
    out: list[str] = []
    i = 0
    while i < len(text):
        step = rng.randint(1, 7)
        out += seg.push(text[i : i + step])
        i += step
    return out + seg.flush()


def stripped(sentences: list[str]) -> list[str]:
    return [s.strip() for s in sentences]


def test_english_sentences() -> None:
    text = "Hello there, my friend. How are you today? I am doing great! Thanks"
    assert stripped(whole(text)) == [
        "Hello there, my friend.",
        "How are you today?",
        "I am doing great!",
        "Thanks",
    ]


def test_chinese_sentences() -> None:
    text = "你好，很高兴认识你。今天天气怎么样？我们去公园吧！好的；走吧……真的吗"
    assert whole(text) == ["你好，很高兴认识你。", "今天天气怎么样？", "我们去公园吧！", "好的；走吧……", "真的吗"]


def test_mixed_english_and_chinese() -> None:
    text = "我喜欢 Python 编程。It is great! 你呢？I use it daily."
    # "你呢？" is short (weight 4): it is merged into the next sentence
    assert stripped(whole(text)) == ["我喜欢 Python 编程。", "It is great!", "你呢？I use it daily."]


def test_ascii_stop_before_chinese_ends_a_sentence() -> None:
    assert whole("This is English.这是中文句子。") == ["This is English.", "这是中文句子。"]


@pytest.mark.parametrize(
    "text",
    [
        "The price is 3.5 dollars and the rate is 0.25 percent.",
        "Version 1.2.3 was released on example.com today.",
        "We sold 1,000.50 units at 10:30 today.",
        "Pi is about 3.14159 and e is about 2.718.",
    ],
)
def test_no_cut_inside_numbers_or_names(text: str) -> None:
    assert whole(text) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "Bring fruit, e.g. apples or pears, to the party.",
        "That is, i.e. the second one, the best choice here.",
        "Dr. Smith and Mr. Jones met Mrs. Brown at noon.",
        "She moved to the U.S. last year with her family.",
        "The meeting is at 9 a.m. tomorrow in the main hall.",
        "Written by J. R. R. Tolkien in England long ago.",
        "Compare apples vs. oranges before you decide.",
    ],
)
def test_no_cut_after_abbreviations(text: str) -> None:
    assert whole(text, clause_weight=200) == [text]  # clause cuts off: only the "." rules are under test


def test_abbreviation_then_real_sentence_end() -> None:
    text = "Ask Dr. Who about it. He knows everything."
    assert stripped(whole(text)) == ["Ask Dr. Who about it.", "He knows everything."]


def test_short_fragments_merge_into_the_next_sentence() -> None:
    assert stripped(whole("Sure. Here is why it works. Ok. Yes. Let me explain the rest.")) == [
        "Sure. Here is why it works.",
        "Ok. Yes. Let me explain the rest.",
    ]
    assert whole("好的。我们现在出发吧。") == ["好的。我们现在出发吧。"]


def test_short_tail_is_kept_on_flush() -> None:
    assert stripped(whole("This is a sentence. Ok.")) == ["This is a sentence.", "Ok."]


def test_closing_quotes_and_runs_stay_with_the_sentence() -> None:
    text = 'He shouted "Stop right now!" Then he left?! Really.” Fine then.'
    assert stripped(whole(text)) == ['He shouted "Stop right now!"', "Then he left?!", "Really.”", "Fine then."]
    assert whole("她说：“你好吗？”我说很好。") == ["她说：“你好吗？”", "我说很好。"]


def test_newlines_end_sentences_and_list_numbers_are_not_sentences() -> None:
    text = "Here is the plan:\n1. Buy some milk\n2. Walk back home\n"
    assert stripped(whole(text)) == ["Here is the plan:", "1. Buy some milk", "2. Walk back home"]


def test_long_run_on_sentence_is_cut_at_a_comma() -> None:
    clause = "and then we walked a little further down the road"
    text = ", ".join([clause] * 6) + "."
    out = whole(text, clause_weight=80)
    assert len(out) > 1
    assert all(s.rstrip().endswith((",", ".")) for s in out)
    assert "".join(out) == text


def test_text_is_preserved_exactly() -> None:
    text = "  Hello there.  How are you?\n\nFine, thanks!   "
    out = whole(text)
    assert "".join(out) == text.rstrip()
    assert out[0].startswith("  Hello")


def test_empty_and_whitespace_only() -> None:
    assert whole("") == []
    assert whole("   \n ") == []
    assert whole("...") == ["..."]


def test_tail_without_letters() -> None:
    # joins the last sentence when that one is still pending at flush, else comes back alone
    assert whole("Ok 😊") == ["Ok 😊"]
    assert whole("Bye now, take care.”)") == ["Bye now, take care.”)"]
    assert whole("That is all for today. 😊") == ["That is all for today.", " 😊"]


def test_push_returns_sentences_as_soon_as_they_are_decidable() -> None:
    seg = Segmenter()
    assert seg.push("Hello there my friend.") == []  # the '.' may still be "3.5" or "e.g."
    assert seg.push(" H") == ["Hello there my friend."]
    assert seg.pending == " H"
    assert seg.push("ow are") == []
    assert seg.flush() == [" How are"]
    assert seg.pending == ""
    assert Segmenter().push("你好，世界上所有的人。") == []  # "。" may be followed by "”"
    seg = Segmenter()
    assert seg.push("你好，世界上所有的人。我") == ["你好，世界上所有的人。"]


def test_reset_forgets_pending_text() -> None:
    seg = Segmenter()
    seg.push("Half a sent")
    seg.reset()
    assert seg.push("Another sentence here. ") == ["Another sentence here."]


CORPUS = [
    "Hello there, my friend. How are you today? I am doing great! Thanks",
    "The price is 3.5 dollars. That is e.g. cheap. Dr. Smith lives in the U.S. He is nice.",
    "你好，很高兴认识你。今天天气怎么样？我们去公园吧！好的；走吧……真的吗",
    "我喜欢 Python 编程。It is great! 你呢？I use it daily.\n\n- One item\n- Two items here\n",
    'He shouted "Stop right now!" Then he left?! Really.” Fine then... ok',
    "Sure. Here is the plan:\n1. Buy milk at 10:30 a.m. today\n2. Walk 2.5 km home.",
]


@pytest.mark.parametrize("text", CORPUS)
def test_one_character_at_a_time_equals_all_at_once(text: str) -> None:
    assert by_char(text) == whole(text)
    assert "".join(whole(text)) == text.rstrip()


def test_random_splits_equal_all_at_once() -> None:
    rng = random.Random(1234)
    alphabet = [*"abc XYZ 12.5,;:!?。！？；…，“”\"')\n", "e.g.", "Dr.", "U.S.", "你好", "3.14"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        expected = whole(text)
        assert by_pieces(text, rng) == expected, text
        assert by_char(text) == expected, text
        assert "".join(expected).rstrip() == text.rstrip() or not text.strip()


def test_weight_and_script() -> None:
    assert weight("Hi, you!") == 5
    assert weight("你好。") == 4
    assert is_cjk("你") and is_cjk("。") and not is_cjk("a")


def test_settle_cuts_a_sentence_ending_at_the_end_of_the_buffer() -> None:
    seg = Segmenter()
    assert seg.push("Hello there my friend.") == []
    assert seg.can_settle()
    assert seg.settle() == ["Hello there my friend."]
    assert seg.push(" Next one") == []
    assert not seg.can_settle()
    assert seg.settle() == []
    assert seg.flush() == [" Next one"]
    seg = Segmenter()
    assert seg.push("你好，世界上所有的人。") == []
    assert seg.settle() == ["你好，世界上所有的人。"]


def test_settle_leaves_decimals_abbreviations_and_short_sentences_pending() -> None:
    seg = Segmenter()
    seg.push("It costs 3.")
    assert not seg.can_settle() and seg.settle() == []
    assert seg.push("5 dollars today. ") == ["It costs 3.5 dollars today."]
    seg = Segmenter()
    seg.push("Please ask Dr.")
    assert seg.settle() == []
    assert seg.push(" Smith about it. ") == ["Please ask Dr. Smith about it."]
    seg = Segmenter()
    seg.push("Ok.")
    assert seg.settle() == []
    assert seg.push(" Here we go now.") == []
    assert seg.flush() == ["Ok. Here we go now."]


def test_clause_breaks_cut_a_long_sentence_early() -> None:
    text = "The package left our warehouse in Shanghai early this morning, and it should reach you soon."
    assert whole(text) == [
        "The package left our warehouse in Shanghai early this morning,",
        " and it should reach you soon.",
    ]
    assert whole("Sure, I can help.") == ["Sure, I can help."]  # a short first clause is not cut
    assert whole("我们门店的营业时间是每天早上九点到晚上六点，周末也照常营业。") == [
        "我们门店的营业时间是每天早上九点到晚上六点，",
        "周末也照常营业。",
    ]


def test_a_reply_without_any_punctuation_is_cut_by_length() -> None:
    words = " ".join(["word"] * 60)
    seg = Segmenter()
    out = seg.push(words)
    assert out and all(weight(s) >= 120 for s in out)  # pieces leave long before the reply ends
    assert all(not s.endswith(" ") for s in out)  # cut before a space, never inside a word
    assert "".join(out + seg.flush()) == words
    han = "我们" * 50
    pieces = whole(han)
    assert len(pieces) > 1 and "".join(pieces) == han


def test_markdown_markers_after_a_mark_stay_with_the_sentence() -> None:
    assert stripped(whole("**Sure thing!** Here is the plan.")) == ["**Sure thing!**", "Here is the plan."]


def test_a_dot_glued_to_a_word_is_a_weak_end() -> None:
    seg = Segmenter()
    seg.push("Visit example.")
    assert seg.can_settle() and seg.weak_end()
    seg = Segmenter()
    seg.push("Is that all you need?")
    assert seg.can_settle() and not seg.weak_end()
    seg.push(" It is")
    assert not seg.weak_end()
