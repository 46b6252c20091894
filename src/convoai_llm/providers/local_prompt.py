# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""What the local model is shown: OpenAI messages → chat-template turns, the voice-style system prompt
it gets when the caller sends none, and the retrieval budget a small model on two cores can read fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"[.!?。！？\n]")


class Scored(Protocol):
    @property
    def score(self) -> float: ...


P = TypeVar("P", bound=Scored)

VOICE_PROMPTS = {
    "en": "You are a friendly voice assistant. Answer in one or two short spoken sentences, in English, "
    "with no lists or markdown.",
    "zh": "你是一个友好的语音助手。请用中文回答，只说一两句简短的话，不要列表，不要格式符号。",
}


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """How much retrieved text the local model can read before its first word stays within the target.

    Measured by `bench/brain_bench.py` (README, "Embedded model"): the core's retrieval stage should pass
    at most `max_passages` passages, each cut to `max_passage_chars` characters (a Chinese character
    counts as one), and use the no-passages prompt when the best passage scores below `min_score`
    (the retriever's fused score) — the model then says the knowledge base has no answer.
    """

    max_passages: int = 2
    max_passage_chars: int = 360
    min_score: float = 0.0
    first_token_target_s: float = 1.5

    def select(self, passages: Sequence[P]) -> list[P]:
        """The passages to show the model: at or above `min_score`, best first, at most `max_passages`."""
        kept = [p for p in passages if p.score >= self.min_score]
        return sorted(kept, key=lambda p: p.score, reverse=True)[: self.max_passages]

    def clip(self, text: str) -> str:
        """`text` cut to `max_passage_chars`, at the last sentence end inside the limit when there is one."""
        text = text.strip()
        if len(text) <= self.max_passage_chars:
            return text
        head = text[: self.max_passage_chars]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        return head[: ends[-1]].strip() if ends and ends[-1] > self.max_passage_chars // 2 else head


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def language_of(messages: list[dict[str, Any]]) -> str:
    """ "zh" when the last user turn has at least as many CJK ideographs as Latin words, else "en"."""
    for m in reversed(messages):
        if m.get("role") == "user":
            text = text_of(m.get("content"))
            ideographs = len(_CJK.findall(text))
            return "zh" if ideographs and ideographs >= len(_LATIN_WORD.findall(text)) else "en"
    return "en"


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
        text = text_of(m.get("content"))
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
