# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
from __future__ import annotations

from convoai_llm.rag.passage import Passage
from convoai_llm.rag.prompt import detect_language, inject_passages, query_for, waiting_message

PASSAGE = Passage("Pricing > Day pass\nThe Day Pass costs 15 dollars.", "/kb/pricing.md", "Zephyr pricing", 0.03, 7)


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_query_is_last_user_turn() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        user("How much is the Day Pass?"),
        {"role": "assistant", "content": "15 dollars."},
        user("What are the opening hours of Northgate?"),
    ]
    assert query_for(messages) == "What are the opening hours of Northgate?"


def test_short_follow_up_gets_previous_user_turn() -> None:
    messages = [
        user("Tell me about the Explorer plan"),
        {"role": "assistant", "content": "..."},
        user("and the price?"),
    ]
    assert query_for(messages) == "Tell me about the Explorer plan and the price?"
    zh = [user("介绍一下畅游月卡"), {"role": "assistant", "content": "..."}, user("那价格呢？")]
    assert query_for(zh) == "介绍一下畅游月卡 那价格呢？"
    pronoun = [user("Is Harborview Central open on Sundays?"), user("is it open on holidays?")]
    assert query_for(pronoun).startswith("Is Harborview Central")


def test_full_question_is_not_a_follow_up() -> None:
    messages = [user("How much is the Day Pass?"), user("What is the support hotline number for Zephyr bikes?")]
    assert query_for(messages) == "What is the support hotline number for Zephyr bikes?"
    assert query_for([user("退款多久到账？"), user("北门服务中心几点营业？")]) == "北门服务中心几点营业？"


def test_content_parts_and_no_user_turn() -> None:
    parts = {"role": "user", "content": [{"type": "text", "text": "Day pass"}, {"type": "image_url", "image_url": {}}]}
    assert query_for([parts]) == "Day pass"
    assert query_for([{"role": "system", "content": "x"}]) == ""


def test_language_and_waiting_message() -> None:
    assert detect_language("How much is it?") == "en"
    assert detect_language("日卡多少钱？") == "zh"
    assert detect_language("Zephyr 的日卡多少钱") == "zh"
    assert detect_language("") == "en"
    assert waiting_message("en") == "Let me check that for you."
    assert waiting_message("zh") == "我查一下，请稍等。"


def test_inject_adds_one_system_message_after_callers_system_prompt() -> None:
    messages = [{"role": "system", "content": "You are Zed."}, user("How much is the Day Pass?")]
    out = inject_passages(messages, [PASSAGE])
    assert out[0] == messages[0]
    assert out[2] == messages[1]
    assert len(out) == 3
    added = out[1]
    assert added["role"] == "system"
    assert (
        '{"source": 1, "title": "Zephyr pricing", "text": "Pricing > Day pass\\nThe Day Pass costs 15 dollars."}'
        in (added["content"])
    )
    assert "knowledge base has no information" in added["content"]
    assert messages == [{"role": "system", "content": "You are Zed."}, user("How much is the Day Pass?")]


def test_inject_without_caller_system_prompt_goes_first() -> None:
    out = inject_passages([user("hi")], [PASSAGE])
    assert [m["role"] for m in out] == ["system", "user"]


def test_inject_with_no_passages_says_kb_has_no_answer() -> None:
    out = inject_passages([user("What is the capital of France?")], [])
    assert "no passages relevant" in out[0]["content"]
    zh = inject_passages([user("今天天气怎么样？")], [])
    assert "知识库里没有" in zh[0]["content"]
