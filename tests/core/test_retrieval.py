"""The retrieval stage's wire shapes: sources never show the server's absolute paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.core.retrieval import passage_wire, public_source, waiting_line
from convoai_llm.rag.passage import Passage


def test_sources_are_named_relative_to_the_kb_never_by_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert public_source("/srv/kb/docs/en/pricing.md") == "en/pricing.md"
    assert public_source("/tmp/examples/zh/hours.md") == "examples/zh/hours.md"
    assert public_source("pricing.md") == "pricing.md"
    wire = passage_wire(Passage("text", "/home/alice/secret-project/faq.md", "FAQ", 0.5, 3))
    assert wire["source"] == "secret-project/faq.md" and "/home" not in str(wire)


def test_waiting_line_follows_the_callers_language_or_the_setting() -> None:
    zh = waiting_line(None, [{"role": "user", "content": "周日几点开门"}])
    en = waiting_line(None, [{"role": "user", "content": "When do you open?"}])
    assert zh is not None and zh.text == "我查一下，请稍等。"  # noqa: RUF001
    assert en is not None and en.text.endswith(". ")
    assert waiting_line("", [{"role": "user", "content": "hi"}]) is None


def test_the_seeded_examples_are_shown_relative_to_the_project(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    assert public_source(str(root / "examples" / "knowledge" / "en" / "pricing.md")).endswith("en/pricing.md")
    assert not public_source(str(root / "examples" / "knowledge" / "en" / "pricing.md")).startswith("/")
