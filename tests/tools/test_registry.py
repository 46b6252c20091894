"""Config loading, the tool sources that need no server, and `ToolRegistry.call`."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from convoai_llm.tools.registry import ToolRegistry
from convoai_llm.tools.tool import BadArguments, ToolConfigError, ToolFailed, ToolTimeout, UnknownTool

FUNCTIONS = '''
from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from pydantic import BaseModel, Field


def order_status(order_id: Annotated[str, Field(description="Order number")], verbose: bool = False) -> str:
    """Where an order is."""
    return f"{order_id}: shipped" + (" on Monday" if verbose else "")


async def nap(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "rested"


class Booking(BaseModel):
    """A booking request."""

    name: str
    size: int = Field(ge=1, le=12)
    zone: Literal["inside", "terrace"] = "inside"


def book(args: Booking) -> dict[str, object]:
    return {"ok": True, "name": args.name, "size": args.size, "zone": args.zone}


def broken() -> str:
    raise KeyError("missing row")
'''


def write(tmp_path: Path, config: str, name: str = "tools.toml") -> Path:
    (tmp_path / "fns.py").write_text(FUNCTIONS)
    path = tmp_path / name
    path.write_text(textwrap.dedent(config))
    return path


@dataclass(frozen=True)
class FakePassage:
    text: str
    source: str
    title: str


class FakeSearcher:
    def __init__(self) -> None:
        self.queries: list[tuple[str, int]] = []

    async def search(self, query: str, k: int) -> list[FakePassage]:
        self.queries.append((query, k))
        if "refund" not in query:
            return []
        return [FakePassage("Refunds within 30 days.", "policy.md", "Refund policy")]


async def test_functions_get_a_schema_from_type_hints_and_models(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[functions]]
        target = "fns.py:order_status"
        [[functions]]
        target = "fns.py:book"
        name = "book_table"
    """,
    )
    registry = await ToolRegistry.from_config(path)
    defs = {d["function"]["name"]: d["function"] for d in registry.definitions()}
    assert defs["order_status"]["description"] == "Where an order is."
    assert defs["order_status"]["parameters"] == {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "Order number"},
                       "verbose": {"type": "boolean", "default": False}},
        "required": ["order_id"],
    }  # fmt: skip
    book = defs["book_table"]["parameters"]
    assert book["required"] == ["name", "size"]
    assert book["properties"]["zone"]["enum"] == ["inside", "terrace"]
    assert defs["book_table"]["description"] == "A booking request."  # the model's docstring

    assert await registry.call("order_status", '{"order_id": "A1", "verbose": true}', 1) == "A1: shipped on Monday"
    assert json.loads(await registry.call("book_table", '{"name": "Ada", "size": 4}', 1)) == {
        "ok": True, "name": "Ada", "size": 4, "zone": "inside",
    }  # fmt: skip
    with pytest.raises(BadArguments, match="size: Input should be less than or equal to 12"):
        await registry.call("book_table", '{"name": "Ada", "size": 40}', 1)
    with pytest.raises(BadArguments, match="order_id: Field required"):
        await registry.call("order_status", "", 1)
    await registry.aclose()


async def test_call_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[functions]]
        target = "fns.py:nap"
        [[functions]]
        target = "fns.py:broken"
    """,
    )
    registry = await ToolRegistry.from_config(path)
    with pytest.raises(ToolTimeout, match=r"nap did not answer within 0\.1 seconds"):
        await registry.call("nap", '{"seconds": 5}', 0.1)
    assert await registry.call("nap", '{"seconds": 0}', 1) == "rested"
    with pytest.raises(ToolFailed, match="The tool broken failed: KeyError: 'missing row'"):
        await registry.call("broken", "{}", 1)
    with pytest.raises(UnknownTool, match="Available tools: nap, broken"):
        await registry.call("nope", "{}", 1)
    with pytest.raises(BadArguments, match="not valid JSON"):
        await registry.call("nap", "{seconds: 1}", 1)


async def test_builtins_are_off_by_default(tmp_path: Path) -> None:
    registry = await ToolRegistry.from_config(write(tmp_path, "[builtins]\n"))
    assert registry.definitions() == []


async def test_builtins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [builtins]
        enabled = ["current_time", "calculator", "knowledge_search"]
        timezone = "Asia/Shanghai"
        knowledge_k = 2
    """,
    )
    searcher = FakeSearcher()
    registry = await ToolRegistry.from_config(path, searcher=searcher)
    assert [t.name for t in registry.tools()] == ["current_time", "calculator", "knowledge_search"]
    assert await registry.call("calculator", '{"expression": "(12.5 * 4) / 3"}', 1) == "16.6666666667"
    with pytest.raises(ToolFailed, match="not an arithmetic expression"):
        await registry.call("calculator", '{"expression": "import os"}', 1)

    shanghai = await registry.call("current_time", "{}", 1)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert f"{now:%Y}" in shanghai and "(Asia/Shanghai, UTC+0800)" in shanghai
    assert "(America/New_York, UTC-0" in await registry.call("current_time", '{"timezone": "America/New_York"}', 1)
    with pytest.raises(ToolFailed, match="Unknown time zone 'Mars/Base'"):
        await registry.call("current_time", '{"timezone": "Mars/Base"}', 1)

    found = await registry.call("knowledge_search", '{"query": "refund window"}', 1)
    assert found == "[1] Refund policy (policy.md)\nRefunds within 30 days."
    assert await registry.call("knowledge_search", '{"query": "parking"}', 1) == "No passages found for 'parking'."
    assert searcher.queries == [("refund window", 2), ("parking", 2)]


async def test_knowledge_search_without_a_searcher_is_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, '[builtins]\nenabled = ["knowledge_search", "calculator"]\n')
    registry = await ToolRegistry.from_config(path)
    assert [t.name for t in registry.tools()] == ["calculator"]


async def test_yaml_config(tmp_path: Path) -> None:
    path = write(tmp_path, """
        builtins:
          enabled: [calculator]
        functions:
          - target: fns.py:order_status
            description: Look up an order.
    """, name="tools.yaml")  # fmt: skip
    registry = await ToolRegistry.from_config(path)
    assert [(t.name, t.description) for t in registry.tools()] == [
        ("calculator", registry.tools()[0].description), ("order_status", "Look up an order."),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[builtins]\nenabled = ['teleport']\n", "builtins.enabled.0"),
        ("[[functions]]\ntarget = 'fns.py'\n", "must look like 'module:function'"),
        ("[[functions]]\ntarget = 'fns.py:nothing'\n", "is not a function"),
        ("[[functions]]\ntarget = 'no_such_module_xyz:fn'\n", "Cannot import 'no_such_module_xyz'"),
        ("[[functions]]\ntarget = 'fns.py:nap'\nname = 'has space'\n", "must be 1-64 letters"),
        ("[[functions]]\ntarget = 'fns.py:nap'\n[[functions]]\ntarget = 'fns.py:nap'\n", "Two tools are named 'nap'"),
        ("[[webhooks]]\nname = 'w'\nurl = 'ftp://x'\n", "webhooks.0.url"),
        (
            "[[webhooks]]\nname = 'w'\nurl = 'http://x'\nheaders = { A = '${CONVOAI_TEST_UNSET_VAR}' }\n",
            "CONVOAI_TEST_UNSET_VAR",
        ),
        ("[[mcp_servers]]\nname = 'm'\n", "exactly one of `command`"),
        ("[[mcp_servers]]\nname = 'm'\ncommand = 'x'\nurl = 'http://x'\n", "exactly one of `command`"),
        ("surprise = 1\n", "surprise: Extra inputs are not permitted"),
        ("[builtins\n", "Cannot parse"),
        ("[builtins]\nenabled = ['current_time']\ntimezone = 'Nowhere/Land'\n", "Unknown time zone"),
    ],
)
async def test_config_errors(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises((ToolConfigError, ToolFailed), match=message):
        await ToolRegistry.from_config(write(tmp_path, config))


async def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ToolConfigError, match="Cannot read the tools config"):
        await ToolRegistry.from_config(tmp_path / "absent.toml")


async def test_env_references_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVOAI_TEST_TOKEN", "s3cret")
    path = write(
        tmp_path,
        """
        [[webhooks]]
        name = "hook"
        url = "${CONVOAI_TEST_HOOK_URL:-http://127.0.0.1:9/hook}"
        headers = { Authorization = "Bearer ${CONVOAI_TEST_TOKEN}" }
    """,
    )
    from convoai_llm.tools.config import ToolsConfig

    config = ToolsConfig.load(path)
    assert config.webhooks[0].url == "http://127.0.0.1:9/hook"
    assert config.webhooks[0].headers == {"Authorization": "Bearer s3cret"}
    registry = await ToolRegistry.from_config(path)
    assert registry.tools()[0].source == "webhook:127.0.0.1"  # the label never shows the path or headers
    await registry.aclose()
