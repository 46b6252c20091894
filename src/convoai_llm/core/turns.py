"""Turn rules: what a conversation that ends with an assistant turn means, and the engine's metadata chunk.

- Text routes (`chat`, `rag`) with `CONVOAI_TEXT_ASSISTANT_LAST=repeat`: the last assistant turn's text
  is the reply, as is, without calling the LLM (the engine speaks it). The audio route has its own rule
  (`core/voice.py`).
- The engine's `custom_metadata` chunk: a request's own top-level `custom_metadata` object wins (an empty
  one switches it off), else the setting for the request kind.
"""

from __future__ import annotations

from convoai_llm.core.plan import Kind, Plan, replay
from convoai_llm.events import Finish, Metadata, TextDelta
from convoai_llm.schemas.request import ChatRequest
from convoai_llm.settings import TurnSettings


class Turns:
    def __init__(self, settings: TurnSettings) -> None:
        self.settings = settings

    def repeat(self, req: ChatRequest) -> Plan | None:
        """The repeat plan when the rule applies to this request, else None."""
        last = req.messages[-1]
        text = last.text()
        if self.settings.text_assistant_last != "repeat" or last.role != "assistant" or not text.strip():
            return None
        return Plan(req, "repeat", replay(TextDelta(text), Finish("stop")), source="repeat")

    def metadata(self, req: ChatRequest, kind: Kind) -> Metadata | None:
        override = (req.model_extra or {}).get("custom_metadata")
        if isinstance(override, dict):
            return Metadata(override) if override else None
        configured = self.settings.custom_metadata.get(kind)
        return Metadata(configured) if configured else None
