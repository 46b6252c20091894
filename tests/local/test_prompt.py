# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""What the local model is shown: turns, the voice prompt, the retrieval budget."""

from __future__ import annotations

from convoai_llm.providers.local_prompt import VOICE_PROMPTS, to_chat, with_voice_prompt
from convoai_llm.text import language_of, last_user_text


def test_voice_prompt_in_the_callers_language_only_when_there_is_no_system_prompt() -> None:
    zh = [{"role": "user", "content": "周日几点开门？"}]
    assert with_voice_prompt(to_chat(zh), language_of(last_user_text(zh)))[0] == {
        "role": "system",
        "content": VOICE_PROMPTS["zh"],
    }
    en = [{"role": "user", "content": [{"type": "text", "text": "When do you open?"}]}]
    assert with_voice_prompt(to_chat(en), language_of(last_user_text(en)))[0]["content"] == VOICE_PROMPTS["en"]
    own = [{"role": "developer", "content": "Be a pirate."}, *en]
    assert with_voice_prompt(to_chat(own), "en")[0] == {"role": "system", "content": "Be a pirate."}


def test_tool_turns_keep_their_roles_for_a_tool_template_and_become_text_otherwise() -> None:
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "5 degrees"},
    ]  # fmt: skip
    with_tools = to_chat(messages, tools=True)
    assert with_tools[1]["tool_calls"] == [
        {"type": "function", "function": {"name": "weather", "arguments": {"city": "Oslo"}}}
    ]
    assert with_tools[2] == {"role": "tool", "content": "5 degrees"}
    assert to_chat(messages)[2] == {"role": "user", "content": "Tool result: 5 degrees"}
