"""``kb`` command line: add, list, search and remove knowledge-base documents; migrate and copy to PostgreSQL.

Every command works on the SQLite file ``--db`` (``$CONVOAI_KB_PATH``), or on PostgreSQL when ``--url``
(``$CONVOAI_KB_URL``, ``postgresql://…``) is given.

The server's CLI mounts ``kb_app`` as ``convoai-llm kb``; ``python -m convoai_llm.rag.cli`` runs it alone.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from convoai_llm.rag.backend import describe, open_store
from convoai_llm.rag.embed import DEFAULT_MODEL, MODEL_NAMES, TextEmbedder, load_embedder
from convoai_llm.rag.files import DEFAULT_MAX_FILE_BYTES, printable
from convoai_llm.rag.ingest import Ingestor, IngestResult, Outcome, collect_files, source_name
from convoai_llm.rag.reader import Reader
from convoai_llm.rag.reembed import reembed_store
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import StoreError
from convoai_llm.rag.tokenize import Tokenizer

DEFAULT_DB = Path("data/kb.sqlite3")
ENV_DB = "CONVOAI_KB_PATH"
ENV_URL = "CONVOAI_KB_URL"
ENV_MODEL = "CONVOAI_RAG_EMBED_MODEL"
ENV_MAX_FILE_MB = "CONVOAI_KB_MAX_FILE_MB"

kb_app = typer.Typer(help="Manage the knowledge base used by /rag/chat/completions.", no_args_is_help=True)

DbOption = Annotated[
    Path, typer.Option("--db", envvar=ENV_DB, help="Knowledge-base file.", show_default=True, dir_okay=False)
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar=ENV_URL, help="PostgreSQL knowledge base (postgresql://…); overrides --db."),
]
ModelOption = Annotated[
    str, typer.Option("--model", envvar=ENV_MODEL, help=f"Embedding model: {', '.join(MODEL_NAMES)}.")
]


def location(db: Path, url: str | None) -> Path | str:
    return url if url else db


def default_db_path() -> Path:
    """``$CONVOAI_KB_PATH`` or ``./data/kb.sqlite3``."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


def ingest_paths(
    db: Path | str,
    paths: list[Path],
    *,
    progress: bool = True,
    model: str = DEFAULT_MODEL,
    embedder: TextEmbedder | None = None,
    follow_symlinks: bool = False,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[IngestResult]:
    """Adds files and folders to the knowledge base at ``db`` (a file or a URL); one transaction per file."""
    files, results = collect_files(paths, follow_symlinks=follow_symlinks, max_bytes=max_bytes)
    for problem in results:
        typer.echo(f"skipped {printable(problem.source)}: {problem.reason}", err=True)
    if not files:
        return results
    embedder = embedder or load_embedder(model, threads=min(4, os.cpu_count() or 1))
    total = sum(path.stat().st_size for path in files)
    show_bar = progress and (len(files) > 1 or any(p.is_dir() for p in paths))
    with open_store(db, model_id=embedder.model_id, dimension=embedder.dimension) as store:
        ingestor = Ingestor(store, embedder, Tokenizer(), reader=Reader(max_bytes))
        bar = tqdm(total=total, desc="ingesting", unit="B", unit_scale=True, disable=not show_bar, dynamic_ncols=True)
        started, chunks = time.perf_counter(), 0

        def report(result: IngestResult) -> None:
            nonlocal chunks
            chunks += result.chunks
            rate = chunks / max(time.perf_counter() - started, 1e-6)
            bar.set_postfix_str(f"{chunks} chunks, {rate:.0f} chunks/s", refresh=False)
            bar.update(result.size)
            if result.outcome is Outcome.SKIPPED:
                bar.write(f"skipped {printable(result.source)}: {result.reason}", file=sys.stderr)

        with bar:
            results.extend(ingestor.add_many(files, report))
    return results


@kb_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.txt .md .html .pdf).")],
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    model: ModelOption = DEFAULT_MODEL,
    follow_symlinks: Annotated[
        bool, typer.Option("--follow-symlinks", help="Follow symbolic links that lead out of the folders given.")
    ] = False,
    max_file_mb: Annotated[
        float, typer.Option("--max-file-mb", envvar=ENV_MAX_FILE_MB, min=0.001, help="Skip larger files.")
    ] = DEFAULT_MAX_FILE_BYTES / 1_048_576,
) -> None:
    """Add files and folders (recursively). Unchanged files are left alone; changed ones are replaced."""
    where = location(db, url)
    try:
        results = ingest_paths(
            where, paths, model=model, follow_symlinks=follow_symlinks, max_bytes=int(max_file_mb * 1_048_576)
        )
    except KeyboardInterrupt:
        typer.echo("interrupted: files done so far are saved, the ones in progress were not", err=True)
        raise typer.Exit(130) from None
    except StoreError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    counts = Counter(result.outcome for result in results)
    chunks = sum(result.chunks for result in results)
    typer.echo(
        f"{counts[Outcome.ADDED]} added, {counts[Outcome.UPDATED]} updated, "
        f"{counts[Outcome.UNCHANGED]} unchanged, {counts[Outcome.SKIPPED]} skipped "
        f"({chunks} new chunks) -> {printable(describe(where))}"
    )
    if results and counts[Outcome.SKIPPED] == len(results):
        raise typer.Exit(1)


@kb_app.command("reembed")
def reembed(db: DbOption = DEFAULT_DB, url: UrlOption = None, model: ModelOption = DEFAULT_MODEL) -> None:
    """Re-embed every chunk with MODEL (after changing CONVOAI_RAG_EMBED_MODEL); one transaction."""
    embedder = load_embedder(model, threads=min(4, os.cpu_count() or 1))
    try:
        report = reembed_store(location(db, url), embedder)
    except StoreError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if report.chunks == 0 and report.previous == embedder.model_id:
        typer.echo(f"already embedded with {embedder.model_id}")
        return
    typer.echo(
        f"re-embedded {report.chunks} chunks: {report.previous or 'none'} -> {embedder.model_id} "
        f"({report.seconds:.1f} s, {report.chunks / max(report.seconds, 1e-6):.0f} chunks/s)"
    )


@kb_app.command("list")
def list_documents(db: DbOption = DEFAULT_DB, url: UrlOption = None) -> None:
    """List the documents with their chunk counts."""
    with open_store(location(db, url)) as store:
        documents = store.documents()
        version = store.version()
    for doc in documents:
        added = dt.datetime.fromtimestamp(doc.added_at).strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{doc.chunks:4d} chunks  {added}  {printable(doc.source)}  ({printable(doc.title)})")
    typer.echo(f"{len(documents)} documents, {sum(d.chunks for d in documents)} chunks, version {version}")


@kb_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="The question to search for.")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many passages.")] = 3,
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    model: ModelOption = DEFAULT_MODEL,
) -> None:
    """Show the passages retrieval returns for a query, with scores and sources."""
    if not url and not db.exists():
        typer.echo(f"no knowledge base at {printable(str(db))}", err=True)
        raise typer.Exit(1)
    retriever = Retriever(location(db, url), top_k=k, embed_model=model)
    passages = retriever.search_sync(query)
    retriever.close()
    if not passages:
        typer.echo("no relevant passage")
    for rank, passage in enumerate(passages, start=1):
        typer.echo(f"{rank}. score {passage.score:.4f}  {printable(passage.title)}  [{printable(passage.source)}]")
        typer.echo("\n".join("   " + printable(line) for line in passage.text.split("\n")))


@kb_app.command("remove")
def remove(
    source: Annotated[str, typer.Argument(help="A source as `kb list` shows it, or a path to it.")],
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
) -> None:
    """Remove one document and its chunks."""
    with open_store(location(db, url)) as store:
        removed = store.remove(source) or store.remove(source_name(Path(source)))
    if not removed:
        typer.echo(f"not in the knowledge base: {printable(source)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {printable(source)}")


@kb_app.command("migrate")
def migrate(
    url: Annotated[str, typer.Option("--url", envvar=ENV_URL, help="PostgreSQL URL (postgresql://…).")],
    dimension: Annotated[int, typer.Option(help="Embedding dimension (a new schema only).")] = 384,
) -> None:
    """Create or upgrade the PostgreSQL schema (tables, pgvector extension, HNSW index)."""
    from convoai_llm.rag.pg_admin import migrate_url

    before, after = migrate_url(url, dimension)
    typer.echo(f"schema version {before} -> {after} at {describe(url)}" if after != before else
               f"schema is up to date (version {after}) at {describe(url)}")  # fmt: skip


@kb_app.command("copy")
def copy(
    url: Annotated[str, typer.Option("--url", envvar=ENV_URL, help="Target PostgreSQL URL (postgresql://…).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Copy an SQLite knowledge base into PostgreSQL (documents already there unchanged are skipped)."""
    from convoai_llm.rag.pg_admin import copy_sqlite

    try:
        report = copy_sqlite(db, url)
    except StoreError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{report.copied} copied, {report.unchanged} unchanged ({report.chunks} chunks) -> {describe(url)}")


if __name__ == "__main__":
    kb_app()
