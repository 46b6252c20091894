# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""What the local model is shown: OpenAI messages → chat-template turns, and the voice-style system
prompt it gets when the caller sends none."""

from __future__ import annotations

import json
from typing import Any

from convoai_llm.text import message_text

VOICE_PROMPTS = {
    "en": "You are a friendly voice assistant. Answer in one or two short spoken sentences, in English, "
    "with no lists or markdown.",
    "zh": "你是一个友好的语音助手。请用中文回答，只说一两句简短的话，不要列表，不要格式符号。",
}


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    """OpenAI assistant `tool_calls` as the Qwen template renders them (arguments as an object)."""
    out: list[dict[str, Any]] = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            continue
        raw = fn.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = raw
        out.append({"type": "function", "function": {"name": str(fn.get("name") or ""), "arguments": arguments}})
    return out


def to_chat(messages: list[dict[str, Any]], tools: bool = False) -> list[dict[str, Any]]:
    """OpenAI messages → the turns a chat template understands.

    With `tools` (the template renders them), assistant tool calls and tool results keep their roles;
    otherwise a tool result becomes a user turn ("Tool result: …").
    """
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        text = message_text(m)
        if role == "developer":
            role = "system"
        if tools and role == "assistant" and m.get("tool_calls"):
            out.append({"role": "assistant", "content": text, "tool_calls": _tool_calls(m["tool_calls"])})
            continue
        if role in ("tool", "function"):
            if tools:
                out.append({"role": "tool", "content": text})
                continue
            role, text = "user", f"Tool result: {text}"
        if text or role == "assistant":
            out.append({"role": role, "content": text})
    return out


def with_voice_prompt(turns: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """`turns` with the voice-style system prompt first when the caller gave no system prompt."""
    if any(t["role"] == "system" for t in turns):
        return turns
    return [{"role": "system", "content": VOICE_PROMPTS.get(lang, VOICE_PROMPTS["en"])}, *turns]
