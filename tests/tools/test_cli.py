from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convoai_llm.tools.cli import tools_app
from tests.tools.conftest import EXAMPLES, mcp_block


def test_list_prints_every_tool_with_its_source(tmp_path: Path) -> None:
    config = tmp_path / "tools.toml"
    config.write_text(
        '[builtins]\nenabled = ["calculator"]\n'
        f'[[functions]]\ntarget = "{(EXAMPLES / "functions.py").as_posix()}:order_status"\n' + mcp_block()
    )
    result = CliRunner().invoke(tools_app, ["list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [
        ("calculator", "builtin"),
        ("order_status", f"function:{(EXAMPLES / 'functions.py').as_posix()}:order_status"),
        ("get_weather", "mcp:weather"),
        ("enable_forecast", "mcp:weather"),
    ]


def test_list_json_and_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tools.yaml"
    config.write_text("builtins:\n  enabled: [current_time]\n")
    monkeypatch.setenv("CONVOAI_TOOLS_CONFIG", str(config))
    result = CliRunner().invoke(tools_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = [json.loads(line) for line in result.output.splitlines()]
    assert entry["source"] == "builtin" and entry["function"]["name"] == "current_time"


def test_list_reports_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVOAI_TOOLS_CONFIG", raising=False)
    assert CliRunner().invoke(tools_app, ["list"]).exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[builtins]\nenabled = ['teleport']\n")
    result = CliRunner().invoke(tools_app, ["list", "-c", str(bad)])
    assert result.exit_code == 1
    assert "builtins.enabled.0" in result.output
