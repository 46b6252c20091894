"""Public-benchmark mode of ``bench/rag_bench.py``: CMRC 2018 dev (Chinese) and any BEIR-format set.

Each document becomes a file in a temporary folder (never in the project), ingested through the project's
own ``Ingestor`` (chunking, jieba, embedding, SQLite), then every question is searched with
``Retriever.search_sync`` (10 passages, at most one per document, so the ranking is over documents).
Metrics over documents, one or more relevant per question: nDCG@10, Recall@10, MRR@10.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from convoai_llm.rag.embed import TextEmbedder
from convoai_llm.rag.fusion import Weights
from convoai_llm.rag.index import Policy, tuned_policy
from convoai_llm.rag.ingest import Ingestor
from convoai_llm.rag.retrieve import Retriever
from convoai_llm.rag.store import KnowledgeStore
from convoai_llm.rag.tokenize import Tokenizer


@dataclass(frozen=True)
class Dataset:
    name: str
    documents: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: list[tuple[str, set[str]]]  # (question, relevant document ids)


@dataclass(frozen=True)
class Scores:
    ndcg: float
    recall: float
    mrr: float
    p50_ms: float
    p95_ms: float


def cmrc(path: Path) -> Dataset:
    """CMRC 2018 dev: each article (title + its passage) a document, each question's article relevant."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    documents: dict[str, tuple[str, str]] = {}
    queries: list[tuple[str, set[str]]] = []
    for article in data:
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        documents[article["id"]] = (article["title"], text)
        queries += [(qa["question"], {article["id"]}) for p in article["paragraphs"] for qa in p["qas"]]
    return Dataset("CMRC 2018 dev", documents, queries)


def beir(folder: Path, split: str = "test") -> Dataset:
    """A BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""
    documents = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            documents[str(row["_id"])] = (str(row.get("title", "")), str(row["text"]))
    texts = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts[str(row["_id"])] = str(row["text"])
    relevant: dict[str, set[str]] = {}
    for line in (folder / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")[:3]
        if int(score) > 0:
            relevant.setdefault(query_id, set()).add(doc_id)
    return Dataset(folder.name, documents, [(texts[q], docs) for q, docs in relevant.items() if q in texts])


@contextmanager
def ingested(dataset: Dataset, embedder: TextEmbedder, tokenizer: Tokenizer) -> Iterator[tuple[Path, float, int]]:
    """A temporary KB holding the dataset; yields (database, chunks per second, chunks)."""
    with tempfile.TemporaryDirectory() as folder:
        docs = Path(folder) / "docs"
        docs.mkdir()
        paths = []
        for doc_id, (title, text) in dataset.documents.items():
            path = docs / f"{doc_id.replace('/', '_')}.md"
            path.write_text(f"# {title}\n\n{text}\n" if title else text, encoding="utf-8")
            paths.append(path)
        db = Path(folder) / "kb.sqlite3"
        with KnowledgeStore(db, model_id=embedder.model_id) as store:
            started = time.perf_counter()
            results = Ingestor(store, embedder, tokenizer).add_many(paths)
            seconds = time.perf_counter() - started
        chunks = sum(r.chunks for r in results)
        yield db, chunks / seconds, chunks


def evaluate(retriever: Retriever, dataset: Dataset, limit: int | None = None) -> Scores:
    """Document-level metrics over the dataset's questions (the first ``limit`` when given)."""
    ndcg = recall = mrr = 0.0
    timings: list[float] = []
    queries = dataset.queries[:limit] if limit else dataset.queries
    for question, relevant in queries:
        started = time.perf_counter()
        passages = retriever.search_sync(question, k=10)
        timings.append((time.perf_counter() - started) * 1000)
        ranked = [Path(p.source).stem for p in passages]
        gains = [1.0 if doc in relevant else 0.0 for doc in ranked]
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
        ndcg += sum(g / math.log2(i + 2) for i, g in enumerate(gains)) / ideal
        recall += sum(gains) / len(relevant)
        mrr += next((1 / (i + 1) for i, g in enumerate(gains) if g), 0.0)
    n = len(queries)
    timings.sort()
    return Scores(ndcg / n, recall / n, mrr / n, statistics.median(timings), timings[int(len(timings) * 0.95)])


def variants(model: str) -> dict[str, Policy]:
    """BM25 alone, dense alone, RRF, and the tuned score fusion, one document per result."""
    tuned = tuned_policy(model, per_document=1)
    only = {lang: Weights(1.0, 0.0) for lang in ("en", "zh")}
    dense = {lang: Weights(0.0, 1.0) for lang in ("en", "zh")}
    return {
        "BM25": Policy(tuned.thresholds, "score", dict(only), 1),  # type: ignore[arg-type]
        "dense": Policy(tuned.thresholds, "score", dict(dense), 1),  # type: ignore[arg-type]
        "hybrid RRF": Policy(tuned.thresholds, "rrf", tuned.weights, 1),
        "hybrid score": tuned,
    }
