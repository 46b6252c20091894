# ruff: noqa: RUF001 - Chinese distractor text uses full-width punctuation
"""Retrieval benchmark: latency at 10 000 chunks (query embedding included) and quality on the eval set.

    .venv/bin/python bench/rag_bench.py                # 10 000 chunks: p50/p95, hit@3, MRR
    .venv/bin/python bench/rag_bench.py --chunks 2000  # smaller, faster
    .venv/bin/python bench/rag_bench.py --sweep        # chunk size / overlap sweep on the sample KB only
    .venv/bin/python bench/rag_bench.py --public       # CMRC 2018 dev (+ --scifact ZIP, --beir DIR): nDCG, R@10, MRR

The KB is the sample knowledge base plus synthetic distractor chunks (English and Chinese passages about
other made-up products, embedded for real), written into a temporary SQLite file through the store.
Queries are the labelled questions of ``tests/rag/eval_set.py``, served by ``Retriever.search_sync`` with
the server's settings (one onnxruntime thread).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rag.eval_set import QUESTIONS  # noqa: E402

from bench.rag_public import Dataset, beir, cmrc, evaluate, ingested, scifact, variants  # noqa: E402
from convoai_llm.rag.chunk import Chunker  # noqa: E402
from convoai_llm.rag.embed import DEFAULT_MODEL, TextEmbedder, load_embedder  # noqa: E402
from convoai_llm.rag.ingest import Ingestor, collect_files  # noqa: E402
from convoai_llm.rag.retrieve import Retriever  # noqa: E402
from convoai_llm.rag.store import KnowledgeStore, NewChunk  # noqa: E402
from convoai_llm.rag.tokenize import Tokenizer  # noqa: E402

EXAMPLES = ROOT / "examples" / "knowledge"
PRODUCTS = ["Aurora lamp", "Kestrel drone", "Maple kettle", "Orbit speaker", "Quill tablet", "Tundra cooler"]
TOPICS = ["warranty", "shipping", "battery care", "firmware update", "cleaning", "pairing", "returns", "colours"]
ZH_PRODUCTS = ["极光台灯", "红隼无人机", "枫叶水壶", "轨道音箱", "羽毛平板"]
ZH_TOPICS = ["保修", "配送", "电池保养", "固件升级", "清洁", "配对", "退货"]


def distractor(rng: random.Random, n: int) -> str:
    if rng.random() < 0.3:
        product, topic = rng.choice(ZH_PRODUCTS), rng.choice(ZH_TOPICS)
        return (
            f"{product} > {topic}\n第{n}条：{product}的{topic}说明。请在{rng.randint(2, 30)}天内联系客服，"
            f"型号{rng.randint(100, 999)}需要{rng.randint(1, 9)}个步骤，费用为{rng.randint(5, 500)}元。"
        )
    product, topic = rng.choice(PRODUCTS), rng.choice(TOPICS)
    return (
        f"{product} > {topic}\nNote {n}: for the {product} {topic}, model {rng.randint(100, 999)} needs "
        f"{rng.randint(1, 9)} steps and takes about {rng.randint(2, 60)} minutes. Contact support within "
        f"{rng.randint(2, 30)} days; the fee is {rng.randint(5, 500)} dollars for customers outside the plan."
    )


def build(db: Path, total: int, embedder: TextEmbedder, tokenizer: Tokenizer, chunker: Chunker) -> int:
    with KnowledgeStore(db, model_id=embedder.model_id) as store:
        Ingestor(store, embedder, tokenizer, chunker).add_many(collect_files([EXAMPLES])[0])
        rng = random.Random(7)
        made, started = store.chunk_count(), time.perf_counter()
        while made < total:
            texts = [distractor(rng, made + i) for i in range(min(200, total - made))]
            vectors = embedder.embed(texts, batch_size=32)
            terms = tokenizer.tokenize_many(texts)
            chunks = [NewChunk(t, terms[i], vectors[i]) for i, t in enumerate(texts)]
            store.put_document(f"synthetic/{made}", str(made), "Distractors", chunks)
            made += len(texts)
            print(f"\r  built {made}/{total} chunks ({time.perf_counter() - started:.0f} s)", end="", flush=True)
        print()
        return store.chunk_count()


def quality(retriever: Retriever) -> tuple[float, float]:
    hits, reciprocal = 0, 0.0
    for question in QUESTIONS:
        passages = retriever.search_sync(question.text, k=10)
        source = str(EXAMPLES / question.source)
        rank = next((n for n, p in enumerate(passages, 1) if p.source == source and question.answer in p.text), 0)
        hits += 1 if 0 < rank <= 3 else 0
        reciprocal += 1 / rank if rank else 0.0
    return hits / len(QUESTIONS), reciprocal / len(QUESTIONS)


def latency(retriever: Retriever, rounds: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per search, sorted (search_sync runs in this thread, onnxruntime too)."""
    queries = [q.text for q in QUESTIONS]
    for query in queries[:5]:
        retriever.search_sync(query)  # warm-up
    wall, cpu = [], []
    for _ in range(rounds):
        for query in queries:
            started, cpu_started = time.perf_counter(), time.thread_time()
            retriever.search_sync(query)
            cpu.append((time.thread_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
    return sorted(wall), sorted(cpu)


def percentiles(label: str, timings: list[float]) -> str:
    p95 = timings[int(len(timings) * 0.95)]
    return f"{label}: p50 {statistics.median(timings):.2f} ms  p95 {p95:.2f} ms  max {timings[-1]:.2f} ms"


def sweep(embedder: TextEmbedder, tokenizer: Tokenizer) -> None:
    print("size  overlap  chunks  hit@3  MRR")
    for size, overlap in [(200, 0), (200, 40), (300, 0), (300, 50), (500, 0), (500, 80), (800, 0), (800, 130)]:
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "kb.sqlite3"
            count = build(db, 0, embedder, tokenizer, Chunker(size, overlap))
            hit3, mrr = quality(Retriever(db, embedder=embedder, tokenizer=tokenizer))
        print(f"{size:4d}  {overlap:7d}  {count:6d}  {hit3:.3f}  {mrr:.3f}")


def shared_data() -> Path:
    """``shared/data`` beside the clone (CI) or beside the worktree's parent."""
    for base in (ROOT.parent, ROOT.parents[1]):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def public(
    models: list[str], beir_dir: Path | None, scifact_zip: Path | None, limit: int | None, *, with_cmrc: bool = True
) -> None:
    sets: list[Dataset] = []
    cmrc_file = shared_data() / "cmrc2018" / "cmrc2018_dev.json"
    if with_cmrc and cmrc_file.is_file():
        sets.append(cmrc(cmrc_file))
    elif with_cmrc:
        print(f"CMRC 2018 not found at {cmrc_file}: skipped")
    if beir_dir is not None:
        sets.append(beir(beir_dir))
    if scifact_zip is not None:
        sets.append(scifact(scifact_zip))
    tokenizer = Tokenizer()
    for model in models:
        for dataset in sets:
            with ingested(dataset, load_embedder(model, threads=2), tokenizer) as (db, rate, chunks):
                asked = len(dataset.queries[:limit] if limit else dataset.queries)
                print(
                    f"\n{dataset.name}, {model}: {len(dataset.documents)} documents -> {chunks} chunks, "
                    f"ingest {rate:.0f} chunks/s (2 threads); {asked} questions"
                )
                unknown = getattr(load_embedder(model), "unknown_share", None)
                if unknown is not None:
                    share = statistics.mean(unknown(t) for _, t in list(dataset.documents.values())[:200])
                    print(f"  [UNK] share of word pieces (first 200 documents): {share:.2f}")
                query_embedder = load_embedder(model, threads=1)
                timings = []
                for question, _ in dataset.queries[:500]:
                    started = time.perf_counter()
                    query_embedder.embed_one(question)
                    timings.append((time.perf_counter() - started) * 1000)
                timings.sort()
                p95 = timings[int(len(timings) * 0.95)]
                print(f"  query embedding alone: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")
                retriever = Retriever(db, embedder=query_embedder, tokenizer=tokenizer)
                print("  variant        nDCG@10  Recall@10  MRR@10  query p50 / p95 ms")
                for name, policy in variants(model).items():
                    retriever.policy = policy
                    s = evaluate(retriever, dataset, limit)
                    figures = f"{s.ndcg:.3f}    {s.recall:.3f}      {s.mrr:.3f}   {s.p50_ms:.1f} / {s.p95_ms:.1f}"
                    print(f"  {name:13s}  {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8, help="passes over the questions for latency")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model (use-multilingual, minilm)")
    parser.add_argument("--public", action="store_true", help="public sets: CMRC 2018 dev, and --beir DIR")
    parser.add_argument("--models", default="use-multilingual,minilm", help="--public: models to compare")
    parser.add_argument(
        "--beir", type=Path, help="--public: a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)"
    )
    parser.add_argument(
        "--scifact", type=Path, help="--public: SciFact's release zip (claims_*.csv, corpus_train.csv), see rag_public"
    )
    parser.add_argument("--no-cmrc", action="store_true", help="--public: leave CMRC 2018 out")
    parser.add_argument("--limit", type=int, help="--public: only the first N questions of each set")
    args = parser.parse_args()
    if args.public:
        public(args.models.split(","), args.beir, args.scifact, args.limit, with_cmrc=not args.no_cmrc)
        return
    tokenizer = Tokenizer()
    if args.sweep:
        sweep(load_embedder(args.model, threads=2), tokenizer)
        return
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "kb.sqlite3"
        print(f"building a {args.chunks}-chunk knowledge base (embedding every chunk)...")
        count = build(db, args.chunks, load_embedder(args.model, threads=2), tokenizer, Chunker())
        started = time.perf_counter()
        # one onnxruntime thread, as in the server; no query cache: every search embeds its question
        query_embedder = load_embedder(args.model)
        retriever = Retriever(db, tokenizer=tokenizer, embedder=query_embedder, query_cache=0)
        load_s = time.perf_counter() - started
        hit3, mrr = quality(retriever)
        wall, cpu = latency(retriever, args.rounds)
        cached = Retriever(db, tokenizer=tokenizer, embedder=query_embedder)
        cached_wall, cached_cpu = latency(cached, args.rounds)
    print(f"chunks {count}  index load {load_s:.2f} s (embedder included); load average {os.getloadavg()[0]:.1f}")
    print(percentiles("retrieval, query embedding included, wall", wall))
    print(percentiles("retrieval, query embedding included, CPU ", cpu))
    print(percentiles("repeated questions (query cache), wall   ", cached_wall))
    print(percentiles("repeated questions (query cache), CPU    ", cached_cpu))
    print(f"eval set ({len(QUESTIONS)} questions) with {count} chunks: hit@3 {hit3:.3f}  MRR {mrr:.3f}")


if __name__ == "__main__":
    main()
