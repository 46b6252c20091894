"""Built-in tools, each off unless the config enables it: `current_time`, `calculator`, `knowledge_search`.

`knowledge_search` wraps any object with `async search(query, k)` returning passages that have
`.text`, `.source` and `.title` (the RAG `Retriever` is one), so the model decides when to look
things up instead of every turn paying for retrieval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from convoai_llm.rag.searcher import Searcher
from convoai_llm.tools.calculator import Calculator, CalculatorError
from convoai_llm.tools.tool import BadArguments, Tool, ToolConfigError, ToolFailed

BUILTIN_NAMES = ("current_time", "calculator", "knowledge_search")


def _string_arg(arguments: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = arguments.get(key)
    if value is None or value == "":
        if required:
            raise BadArguments(f"Invalid arguments: `{key}` is required.")
        return None
    if not isinstance(value, str):
        raise BadArguments(f"Invalid arguments: `{key}` must be a string.")
    return value


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolFailed(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'.") from None


def current_time_tool(default_timezone: str) -> Tool:
    zone(default_timezone)  # a bad default is a config error, found at start-up

    async def run(arguments: dict[str, Any]) -> str:
        tz_name = _string_arg(arguments, "timezone", required=False) or default_timezone
        now = datetime.now(zone(tz_name))
        return now.strftime(f"%A %d %B %Y, %H:%M ({tz_name}, UTC%z)")

    schema = {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": f"IANA time zone, e.g. 'Asia/Shanghai'. Default: {default_timezone}.",
            }
        },
    }
    return Tool("current_time", "The current date and time, in a given time zone.", schema, "builtin", run)


def calculator_tool() -> Tool:
    calc = Calculator()

    async def run(arguments: dict[str, Any]) -> str:
        expression = _string_arg(arguments, "expression", required=True) or ""
        try:
            return calc.format(calc.evaluate(expression))
        except CalculatorError as exc:
            raise ToolFailed(str(exc)) from None

    schema = {
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "Arithmetic expression, e.g. '(12.5 * 4) / 3' or 'sqrt(2) * 10'.",
            }
        },
        "required": ["expression"],
    }
    return Tool(
        "calculator", "Evaluate an arithmetic expression exactly. Use it for any calculation.", schema, "builtin", run
    )


def knowledge_search_tool(searcher: Searcher | None, k: int, description: str) -> Tool:
    if searcher is None:
        raise ToolConfigError("knowledge_search is enabled but no knowledge base (searcher) was given.")

    async def run(arguments: dict[str, Any]) -> str:
        query = _string_arg(arguments, "query", required=True) or ""
        passages = await searcher.search(query, k)
        if not passages:
            return f"No passages found for {query!r}."
        parts = []
        for i, p in enumerate(passages, 1):
            label = f"{p.title} ({p.source})" if p.title and p.title != p.source else p.source
            parts.append(f"[{i}] {label}\n{p.text.strip()}")
        return "\n\n".join(parts)

    schema = {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look up, in a few words."}},
        "required": ["query"],
    }
    return Tool("knowledge_search", description, schema, "builtin", run)
