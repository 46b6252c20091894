"""Ingestor: files to documents in the store (read, chunk, tokenize, embed, then one write transaction)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from convoai_llm.rag.backend import Store
from convoai_llm.rag.chunk import Chunker
from convoai_llm.rag.embed import Embedder
from convoai_llm.rag.reader import SUPPORTED_SUFFIXES, Reader, UnsupportedFileError
from convoai_llm.rag.store import NewChunk
from convoai_llm.rag.tokenize import Tokenizer


class Outcome(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class IngestResult:
    source: str
    outcome: Outcome
    chunks: int = 0
    reason: str = ""


def source_name(path: Path) -> str:
    """The key a file is stored under: its absolute path with symlinks resolved."""
    return str(path.expanduser().resolve())


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[IngestResult]]:
    """Files to ingest (folders walked recursively, sorted), and the paths skipped with the reason why.

    Inside folders, files of unsupported types and hidden files are skipped without a report; a file named
    explicitly is always reported when it can't be used.
    """
    files: list[Path] = []
    problems: list[IngestResult] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append(Path(root) / name)
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                problems.append(IngestResult(str(path), Outcome.SKIPPED, reason="unsupported file type"))
        else:
            problems.append(IngestResult(str(path), Outcome.SKIPPED, reason="no such file or folder"))
    return files, problems


class Ingestor:
    """Adds files to a store. Slow work (reading, embedding) happens before the write transaction."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        tokenizer: Tokenizer,
        chunker: Chunker | None = None,
        reader: Reader | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._tokenizer = tokenizer
        self._chunker = chunker or Chunker()
        self._reader = reader or Reader()

    def add(self, path: Path) -> IngestResult:
        """Adds or replaces one file; an unchanged file is left alone; unusable ones are skipped."""
        source = source_name(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return IngestResult(source, Outcome.SKIPPED, reason=f"unreadable: {exc.strerror or exc}")
        digest = hashlib.sha256(raw).hexdigest()
        previous = self._store.content_hash(source)
        if previous == digest:
            return IngestResult(source, Outcome.UNCHANGED)
        try:
            document = self._reader.read(path)
        except (UnsupportedFileError, OSError) as exc:
            return IngestResult(source, Outcome.SKIPPED, reason=str(exc))
        chunks = self._chunker.chunk(document.text, document.title)
        if not chunks:
            return IngestResult(source, Outcome.SKIPPED, reason="no text found")
        texts = [chunk.text for chunk in chunks]
        vectors = self._embedder.embed(texts)
        terms = self._tokenizer.tokenize_many(texts)
        new_chunks = [NewChunk(text, terms[i], vectors[i]) for i, text in enumerate(texts)]
        self._store.put_document(source, digest, document.title, new_chunks)
        return IngestResult(source, Outcome.ADDED if previous is None else Outcome.UPDATED, len(chunks))
