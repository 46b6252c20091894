"""Non-streaming response bodies: a chat completion and the model list."""

from __future__ import annotations

import time
from typing import Any

from convoai_llm.core.pipeline import Aggregate


def completion_body(completion_id: str, model: str, agg: Aggregate, created: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": agg.text or None, "refusal": None}
    if agg.tool_calls:
        message["tool_calls"] = [agg.tool_calls[i] for i in sorted(agg.tool_calls)]
    usage = agg.usage
    extra: dict[str, Any] = {"x_convoai": {"sources": list(agg.sources)}} if agg.sources is not None else {}
    return {
        **extra,
        "id": completion_id,
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": agg.finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        },
    }


def models_body(models: list[str], owner: str = "convoai-llm") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": owner} for m in models],
    }
