"""`kb add` on hostile folders (issue 17.12), through the real command in a subprocess: only regular files
under the given roots, no escaping links unless asked, size caps, per-file errors that don't stop the
run, and control characters escaped in printed names."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from convoai_llm.rag.files import FileRejectedError, printable, read_capped

EVIL = "evil\nname\x1b[31m.md"


def kb(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "convoai_llm.rag.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,  # a FIFO or /dev/zero that hung the run would fail here
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text("# Rental\n\nThe Day Pass costs 15 dollars.\n", encoding="utf-8")
    (docs / "inside-link.md").symlink_to(docs / "ok.md")  # stays inside the root: fine (same file, once)
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(docs / "pipe.txt")
    (docs / "loop-a.md").symlink_to(docs / "loop-b.md")
    (docs / "loop-b.md").symlink_to(docs / "loop-a.md")
    (docs / "dangling.md").symlink_to(docs / "missing.md")
    (docs / "etc").symlink_to("/etc")
    (docs / "big.txt").write_bytes(b"word " * 500_000)  # 2.4 MB, over the 1 MB cap below
    (docs / EVIL).write_text("# Evil\n\nA file whose name tries to forge terminal output.\n", encoding="utf-8")
    return docs


def test_hostile_folder(hostile: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.sqlite3"
    added = kb("add", str(hostile), "--db", str(db), "--max-file-mb", "1")
    assert added.returncode == 0, added.stderr
    err = added.stderr
    assert "passwd.txt: symbolic link out of the folder (not followed)" in err
    assert "zero.txt: symbolic link out of the folder (not followed)" in err
    assert "pipe.txt: not a regular file" in err
    assert "loop-a.md: symbolic link loop" in err and "loop-b.md: symbolic link loop" in err
    assert "dangling.md: dangling symbolic link" in err
    assert "etc: symbolic link to a folder (not followed)" in err
    assert "big.txt: too large (2.4 MB, the limit is 1.0 MB)" in err
    assert "\x1b" not in added.stdout + err
    assert "2 added, 0 updated, 0 unchanged" in added.stdout

    listing = kb("list", "--db", str(db))
    assert "evil\\x0aname\\x1b[31m.md" in listing.stdout and "\x1b" not in listing.stdout
    assert listing.stdout.count("\n") == 3  # two documents and the total: the newline did not forge a line
    texts = " ".join(row[0] for row in sqlite3.connect(db).execute("SELECT text FROM chunks"))
    assert "root:" not in texts and "Day Pass costs 15 dollars" in texts


def test_follow_symlinks_when_asked_still_reads_only_regular_files(hostile: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.sqlite3"
    added = kb("add", str(hostile), "--db", str(db), "--max-file-mb", "1", "--follow-symlinks")
    assert added.returncode == 0, added.stderr
    assert "zero.txt: not a regular file" in added.stderr and "pipe.txt: not a regular file" in added.stderr
    sources = [row[0] for row in sqlite3.connect(db).execute("SELECT source FROM documents")]
    assert "/etc/passwd" in sources  # asked for: the link was followed


def test_read_capped_refuses_fifo_device_and_oversize(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileRejectedError, match="not a regular file"):
        read_capped(fifo)  # opened without blocking, then refused
    with pytest.raises(FileRejectedError, match="not a regular file"):
        read_capped(Path("/dev/zero"))
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 3000)
    with pytest.raises(FileRejectedError, match="too large"):
        read_capped(big, max_bytes=2048)
    assert read_capped(big, max_bytes=3000) == b"x" * 3000


def test_printable_escapes_control_characters() -> None:
    assert printable("a\nb\x1b[0m\x7f\u2028c\u202e") == "a\\x0ab\\x1b[0m\\x7f\\u2028c\\u202e"
    assert printable("普通 name.md") == "普通 name.md"
