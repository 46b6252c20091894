"""Tool calls from a local model's text: Qwen2.5's template asks for

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Beijing"}}
    </tool_call>

`ToolCallParser` takes the streamed text and gives back the text to speak (never a piece of a tag) and
OpenAI tool calls as `ToolCallDelta` events, one complete call each (id, name, arguments as JSON text).
A block that is not valid JSON with a name is dropped (logged), never spoken.

The tags are special tokens in Qwen's vocabulary and llama.cpp's text output leaves them out, so a reply
that *starts* with `{` is held back and, at the end, read as one or more bare `{"name", "arguments"}`
objects; anything else is released as text.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field

from convoai_llm.events import ToolCallDelta

log = logging.getLogger("convoai_llm.local")

OPEN = "<tool_call>"
CLOSE = "</tool_call>"


def _held_prefix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag` (it may become the tag)."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def parse_call(block: str, index: int) -> ToolCallDelta | None:
    try:
        data = json.loads(block)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        text = arguments
    else:
        text = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return ToolCallDelta(index=index, id=f"call_{uuid.uuid4().hex[:24]}", type="function", name=data["name"],
                         arguments=text)  # fmt: skip


def parse_bare(text: str) -> list[dict[str, object]] | None:
    """`{...}{...}` (whitespace between) as a list of objects with a name, else None."""
    decoder = json.JSONDecoder()
    found: list[dict[str, object]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        try:
            obj, end = decoder.raw_decode(text, position)
        except ValueError:
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            return None
        found.append(obj)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return found or None


@dataclass
class ToolCallParser:
    calls: list[ToolCallDelta] = field(default_factory=list)
    max_bare_chars: int = 4000
    _buffer: str = ""
    _inside: bool = False
    _bare: bool | None = None
    """None until the first non-space character: True when the reply starts with `{`."""

    def feed(self, piece: str) -> tuple[str, list[ToolCallDelta]]:
        """The speakable text and the tool calls completed by this piece."""
        if self._bare is None:
            head = (self._buffer + piece).lstrip()
            if not head:
                self._buffer += piece
                return "", []
            self._bare = head.startswith("{")
        if self._bare:
            self._buffer += piece
            if len(self._buffer) <= self.max_bare_chars:
                return "", []
            self._bare = False  # too long for a call: it is text after all
            piece, self._buffer = self._buffer, ""
        self._buffer += piece
        spoken: list[str] = []
        done: list[ToolCallDelta] = []
        while True:
            if not self._inside:
                start = self._buffer.find(OPEN)
                if start < 0:
                    keep = _held_prefix(self._buffer, OPEN)
                    spoken.append(self._buffer[: len(self._buffer) - keep])
                    self._buffer = self._buffer[len(self._buffer) - keep :]
                    break
                spoken.append(self._buffer[:start])
                self._buffer = self._buffer[start + len(OPEN) :]
                self._inside = True
            end = self._buffer.find(CLOSE)
            if end < 0:
                break
            self._finish_block(self._buffer[:end], done)
            self._buffer = self._buffer[end + len(CLOSE) :]
            self._inside = False
        return "".join(spoken), done

    def close(self) -> tuple[str, list[ToolCallDelta]]:
        """At the end of generation: an unclosed block is parsed as if closed; held text is released."""
        done: list[ToolCallDelta] = []
        rest, self._buffer = self._buffer, ""
        if self._bare:
            for obj in parse_bare(rest) or []:
                self._finish_block(json.dumps(obj, ensure_ascii=False), done)
            return ("", done) if done else (rest, done)
        if self._inside:
            self._inside = False
            self._finish_block(rest, done)
            return "", done
        return rest, done

    def _finish_block(self, block: str, done: list[ToolCallDelta]) -> None:
        call = parse_call(block.strip(), len(self.calls))
        if call is None:
            log.warning("the local model wrote a tool call that is not valid JSON with a name; dropped")
            return
        self.calls.append(call)
        done.append(call)
