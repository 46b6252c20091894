"""Tool calls parsed from a local model's `<tool_call>` text, however the stream splits it."""

from __future__ import annotations

import json

import pytest

from convoai_llm.providers.local_tools import ToolCallParser

OUTPUT = 'Let me look.<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>'


def run(text: str, step: int) -> tuple[str, list[tuple[str | None, str | None]]]:
    parser = ToolCallParser()
    spoken, calls = [], []
    for i in range(0, len(text), step):
        said, done = parser.feed(text[i : i + step])
        spoken.append(said)
        calls.extend(done)
    said, done = parser.close()
    spoken.append(said)
    calls.extend(done)
    assert all(c.type == "function" and (c.id or "").startswith("call_") for c in calls)
    assert [c.index for c in calls] == list(range(len(calls)))
    return "".join(spoken), [(c.name, c.arguments) for c in calls]


@pytest.mark.parametrize("step", [1, 2, 5, 11, 1000])
def test_a_call_split_anywhere_is_one_tool_call_and_no_tag_is_spoken(step: int) -> None:
    spoken, calls = run(OUTPUT, step)
    assert spoken == "Let me look."
    assert len(calls) == 1 and calls[0][0] == "get_weather"
    assert json.loads(calls[0][1] or "") == {"city": "北京"}


def test_two_calls_and_plain_text_with_a_less_than_sign() -> None:
    two = OUTPUT + '<tool_call>{"name": "time", "arguments": {}}</tool_call>'
    spoken, calls = run("1 < 2 and " + two, 3)
    assert spoken == "1 < 2 and Let me look."
    assert [c[0] for c in calls] == ["get_weather", "time"]


def test_an_unclosed_call_at_the_end_is_parsed_and_junk_is_dropped() -> None:
    assert run('<tool_call>{"name": "f", "arguments": {"x": 1}}', 4)[1] == [("f", '{"x": 1}')]
    assert run("<tool_call>not json</tool_call>Sorry.", 4) == ("Sorry.", [])


def test_text_that_only_looks_like_the_start_of_a_tag_is_released() -> None:
    assert run("a <tool", 2) == ("a <tool", [])


def test_bare_json_calls_without_tags_are_tool_calls_and_other_braces_are_text() -> None:
    # Qwen's <tool_call> tags are special tokens that llama.cpp's text leaves out
    bare = '\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n{"name": "time", "arguments": {}}'
    spoken, calls = run(bare, 3)
    assert spoken == "" and [c[0] for c in calls] == ["get_weather", "time"]
    assert run("{not a call} sorry", 3) == ("{not a call} sorry", [])
    assert run("Sure {x}", 3) == ("Sure {x}", [])
