"""The code's shape, checked: small modules and functions, no capability probes, no untyped service bag."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "convoai_llm"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def modules() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(SRC.rglob("*.py"))]


def test_modules_and_functions_stay_small() -> None:
    too_long: list[str] = []
    for path, text in modules():
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(SRC)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, too_long


def test_no_getattr_probes_and_no_extras_bag() -> None:
    """`getattr(x, "name", default)` asks an object what it can do: parts have typed interfaces instead."""
    found: list[str] = []
    for path, text in modules():
        for node in ast.walk(ast.parse(text)):
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            if call and len(node.args) == 3:  # type: ignore[attr-defined]
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")  # type: ignore[attr-defined]
            if isinstance(node, ast.Attribute) and node.attr == "extras":
                found.append(f"{path.relative_to(SRC)}:{node.lineno} .extras")
    assert not found, found
