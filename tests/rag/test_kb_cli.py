"""The kb CLI through typer's CliRunner, and the seed helper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convoai_llm.rag.cli import kb_app
from convoai_llm.rag.seed import seed_if_empty
from convoai_llm.rag.store import KnowledgeStore
from tests.rag.conftest import EXAMPLES


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_add_list_search_remove(tmp_path: Path, runner: CliRunner) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLES / "en", docs)
    (docs / "notes.docx").write_bytes(b"ignored inside folders")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe not utf-8 \xff")
    db = tmp_path / "kb.sqlite3"

    result = runner.invoke(kb_app, ["add", str(docs), str(bad), str(tmp_path / "missing.md"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "5 added, 0 updated, 0 unchanged, 2 skipped" in result.output
    assert "bad.txt: not UTF-8" in result.output and "missing.md: no such file" in result.output

    again = runner.invoke(kb_app, ["add", str(docs), "--db", str(db)])
    assert "0 added, 0 updated, 5 unchanged" in again.output

    listing = runner.invoke(kb_app, ["list", "--db", str(db)])
    assert listing.exit_code == 0
    assert "pricing.md" in listing.output and "(Zephyr Bikes pricing)" in listing.output
    assert "5 documents" in listing.output

    found = runner.invoke(kb_app, ["search", "How much does the Day Pass cost?", "-k", "2", "--db", str(db)])
    assert found.exit_code == 0
    first = found.output.splitlines()[0]
    assert first.startswith("1. score ") and f"[{docs.resolve() / 'pricing.md'}]" in first
    assert "Day Pass costs 15 dollars" in found.output

    removed = runner.invoke(kb_app, ["remove", str(docs / "pricing.md"), "--db", str(db)])
    assert removed.exit_code == 0, removed.output
    missing = runner.invoke(kb_app, ["remove", str(docs / "pricing.md"), "--db", str(db)])
    assert missing.exit_code == 1
    with KnowledgeStore(db) as store:
        assert len(store.documents()) == 4


def test_db_from_environment(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "env.sqlite3"
    result = runner.invoke(kb_app, ["add", str(EXAMPLES / "en" / "safety.txt")], env={"CONVOAI_KB_PATH": str(db)})
    assert result.exit_code == 0, result.output
    with KnowledgeStore(db) as store:
        assert [d.title for d in store.documents()] == ["Safety rules"]


def test_search_without_kb_and_all_skipped(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(kb_app, ["search", "x", "--db", str(tmp_path / "none.sqlite3")])
    assert result.exit_code == 1 and "no knowledge base" in result.output
    unsupported = tmp_path / "a.xlsx"
    unsupported.write_bytes(b"PK")
    result = runner.invoke(kb_app, ["add", str(unsupported), "--db", str(tmp_path / "kb.sqlite3")])
    assert result.exit_code == 1 and "unsupported file type" in result.output


def test_seed_if_empty(tmp_path: Path) -> None:
    db = tmp_path / "data" / "kb.sqlite3"
    assert seed_if_empty(db, EXAMPLES) == 9
    assert seed_if_empty(db, EXAMPLES) == 0
    with KnowledgeStore(db) as store:
        assert len(store.documents()) == 9
