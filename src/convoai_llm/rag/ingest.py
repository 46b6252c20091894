"""Ingestor: files to documents in the store (read, chunk, tokenize, embed, then one write per document).

``add_many`` is a three-stage pipeline: a reader thread reads, parses, chunks and tokenizes the next files
(jieba is pure Python), an embedding thread embeds chunks in groups gathered across documents
(onnxruntime releases the GIL and runs the group's batches side by side on the embedder's threads), and
the calling thread writes each embedded document in its own transaction while the next groups embed.
A file that fails is reported and the run goes on.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from convoai_llm.rag.backend import Store
from convoai_llm.rag.chunk import Chunker
from convoai_llm.rag.embed import TextEmbedder, Vectors
from convoai_llm.rag.files import DEFAULT_MAX_FILE_BYTES, FileRejectedError, Skipped, collect, read_capped
from convoai_llm.rag.reader import SUPPORTED_SUFFIXES, Reader, UnsupportedFileError
from convoai_llm.rag.store import ModelMismatchError, NewChunk
from convoai_llm.rag.tokenize import Tokenizer

READ_AHEAD = 32  # documents prepared ahead of the embedder
EMBED_BATCH = 16  # texts per onnxruntime run (measured: README)
EMBED_AHEAD = 2  # groups embedding or queued while the calling thread writes the previous one


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
    size: int = 0


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A document ready to embed: its chunks' texts and BM25 terms."""

    source: str
    digest: str
    title: str
    texts: list[str]
    terms: list[list[str]]
    size: int
    replaces: bool


def source_name(path: Path) -> str:
    """The key a file is stored under: its absolute path with symlinks resolved."""
    return str(path.expanduser().resolve())


def collect_files(
    paths: Iterable[Path], *, follow_symlinks: bool = False, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[list[Path], list[IngestResult]]:
    """Files to ingest (folders walked recursively, see ``files.collect``) and the paths skipped, with why."""
    files, skipped = collect(paths, SUPPORTED_SUFFIXES, follow_symlinks=follow_symlinks, max_bytes=max_bytes)
    return files, [_skipped(s) for s in skipped]


def _skipped(item: Skipped) -> IngestResult:
    return IngestResult(item.path, Outcome.SKIPPED, reason=item.reason)


class Ingestor:
    """Adds files to a store. Slow work (reading, embedding) happens before each write transaction.

    ``batch_chunks``: chunks per embedding call (gathered across documents).
    """

    def __init__(
        self,
        store: Store,
        embedder: TextEmbedder,
        tokenizer: Tokenizer,
        chunker: Chunker | None = None,
        reader: Reader | None = None,
        *,
        batch_chunks: int = 128,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._tokenizer = tokenizer
        self._chunker = chunker or Chunker()
        self._reader = reader or Reader()
        self._batch = batch_chunks

    def add(self, path: Path) -> IngestResult:
        """Adds or replaces one file; an unchanged file is left alone; unusable ones are skipped."""
        return self.add_many([path])[0]

    def add_many(
        self, paths: Sequence[Path], on_result: Callable[[IngestResult], None] | None = None
    ) -> list[IngestResult]:
        """Adds files in order through the pipeline; ``on_result`` hears each file's result as it lands."""
        stored, chunks = self._store.embed_model(), self._store.chunk_count()
        if stored is not None and chunks and stored != self._embedder.model_id:
            raise ModelMismatchError(stored, self._embedder.model_id, chunks)
        known = {doc.source: doc.content_hash for doc in self._store.documents()}
        results: list[IngestResult] = []

        def land(result: IngestResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        groups = self._groups(self._prepared(paths, known), land)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-embed") as embedding:
            inflight: deque[tuple[list[_Prepared], Future[Vectors]]] = deque()
            for group in groups:
                inflight.append((group, embedding.submit(self._embed, group)))
                if len(inflight) > EMBED_AHEAD:
                    self._write(*inflight.popleft(), land)
            while inflight:
                self._write(*inflight.popleft(), land)
        return results

    def _groups(
        self, items: Iterator[_Prepared | IngestResult], land: Callable[[IngestResult], None]
    ) -> Iterator[list[_Prepared]]:
        """Prepared documents gathered into groups of at least ``batch_chunks`` chunks; other results land."""
        group: list[_Prepared] = []
        chunks = 0
        for item in items:
            if isinstance(item, IngestResult):
                land(item)
                continue
            group.append(item)
            chunks += len(item.texts)
            if chunks >= self._batch:
                yield group
                group, chunks = [], 0
        if group:
            yield group

    def _prepared(self, paths: Sequence[Path], known: dict[str, str]) -> Iterator[_Prepared | IngestResult]:
        """Each path prepared by one worker thread, in order, at most ``READ_AHEAD`` documents ahead."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-read") as pool:
            queue: list[Future[_Prepared | IngestResult]] = []
            for path in paths:
                queue.append(pool.submit(self._prepare, path, known))
                if len(queue) >= READ_AHEAD:
                    yield queue.pop(0).result()
            for future in queue:
                yield future.result()

    def _prepare(self, path: Path, known: dict[str, str]) -> _Prepared | IngestResult:
        source = source_name(path)
        try:
            raw = read_capped(path, self._reader.max_bytes)
        except FileRejectedError as exc:
            return IngestResult(source, Outcome.SKIPPED, reason=str(exc))
        except OSError as exc:
            return IngestResult(source, Outcome.SKIPPED, reason=f"unreadable: {exc.strerror or exc}")
        digest = hashlib.sha256(raw).hexdigest()
        previous = known.get(source)
        if previous == digest:
            return IngestResult(source, Outcome.UNCHANGED, size=len(raw))
        try:
            document = self._reader.read(path, raw)
        except (UnsupportedFileError, OSError) as exc:
            return IngestResult(source, Outcome.SKIPPED, reason=str(exc), size=len(raw))
        texts = [chunk.text for chunk in self._chunker.chunk(document.text, document.title)]
        if not texts:
            return IngestResult(source, Outcome.SKIPPED, reason="no text found", size=len(raw))
        terms = self._tokenizer.tokenize_many(texts)
        return _Prepared(source, digest, document.title, texts, terms, len(raw), previous is not None)

    def _embed(self, documents: list[_Prepared]) -> Vectors:
        return self._embedder.embed([text for doc in documents for text in doc.texts], batch_size=EMBED_BATCH)

    def _write(
        self, documents: list[_Prepared], embedded: Future[Vectors], land: Callable[[IngestResult], None]
    ) -> None:
        """Each document of an embedded group in its own transaction, in order."""
        vectors = embedded.result()
        start = 0
        for doc in documents:
            chunks = [NewChunk(text, doc.terms[i], vectors[start + i]) for i, text in enumerate(doc.texts)]
            start += len(doc.texts)
            self._store.put_document(doc.source, doc.digest, doc.title, chunks)
            outcome = Outcome.UPDATED if doc.replaces else Outcome.ADDED
            land(IngestResult(doc.source, outcome, len(chunks), size=doc.size))
