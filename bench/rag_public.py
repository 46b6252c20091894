"""Public-benchmark mode of ``bench/rag_bench.py``: CMRC 2018 dev (Chinese), SciFact (English) and any
BEIR-format set.

SciFact (Wadden et al., 2020; AllenAI; data CC BY-NC 2.0) is read from its public release as a zip of CSV
files (``claims_validation.csv``, ``corpus_train.csv``: the 300 dev claims and the 5 183 abstracts), where
it lies; BEIR's SciFact test split is exactly these 300 claims with their cited abstracts as qrels (339
pairs). One public copy of that zip is ``data/scifact.zip`` in the GitHub repository
``sumithra-p-v/claimverifier``; the bench never copies it into the project.

Each document becomes a file in a temporary folder (never in the project), ingested through the project's
own ``Ingestor`` (chunking, jieba, embedding, SQLite), then every question is searched with
``Retriever.search_sync`` (10 passages, at most one per document, so the ranking is over documents).
Metrics over documents, one or more relevant per question: nDCG@10, Recall@10, MRR@10.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import statistics
import tempfile
import time
import tokenize
import zipfile
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


def scifact(archive: Path) -> Dataset:
    """SciFact's dev claims (BEIR's SciFact test split) over its 5 183 abstracts, from the release zip."""
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(archive) as bundle:
        corpus = list(csv.DictReader(io.StringIO(bundle.read("corpus_train.csv").decode("utf-8"))))
        claims = list(csv.DictReader(io.StringIO(bundle.read("claims_validation.csv").decode("utf-8"))))
    documents = {row["doc_id"]: (row["title"], " ".join(_sentences(row["abstract"]))) for row in corpus}
    queries: dict[str, tuple[str, set[str]]] = {}
    for row in claims:  # one row per evidence set: a claim repeats
        cited = row["cited_doc_ids"].strip("[]").split()
        queries.setdefault(row["id"], (row["claim"], set()))[1].update(cited)
    return Dataset("SciFact (BEIR test split)", documents, [q for q in queries.values() if q[1]])


def _sentences(abstract: str) -> list[str]:
    """The abstract's sentences: the CSV holds a printed array of string literals (``['a.' 'b.']``)."""
    tokens = tokenize.generate_tokens(io.StringIO(abstract).readline)
    return [str(ast.literal_eval(t.string)) for t in tokens if t.type == tokenize.STRING]


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
