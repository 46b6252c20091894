"""CallBuffer: tool calls assembled from streamed `ToolCallDelta` pieces (by index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convoai_llm.events import ToolCallDelta


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    def message_entry(self) -> dict[str, Any]:
        """The entry in the assistant message's `tool_calls`."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(slots=True)
class _Pieces:
    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CallBuffer:
    """Pieces keyed by index: the id and type are set once, the name and arguments are joined at the end
    (linear in the stream's length: `+=` on an attribute copies the whole string every time)."""

    parts: dict[int, _Pieces] = field(default_factory=dict)

    def add(self, delta: ToolCallDelta) -> None:
        call = self.parts.get(delta.index)
        if call is None:
            call = self.parts[delta.index] = _Pieces()
        if delta.id:
            call.id = delta.id
        if delta.name:
            call.name.append(delta.name)
        if delta.arguments:
            call.arguments.append(delta.arguments)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def calls(self, prefix: str) -> list[ToolCall]:
        """The calls in index order; a call the upstream sent without an id gets `{prefix}_{index}`."""
        out: list[ToolCall] = []
        for index in sorted(self.parts):
            call = self.parts[index]
            out.append(ToolCall(call.id or f"{prefix}_{index}", "".join(call.name), "".join(call.arguments)))
        return out
