"""Scale-out benchmark: retrieval on PostgreSQL+pgvector vs SQLite, and requests per second on two replicas.

    scripts/services.sh start                              # PostgreSQL+pgvector and Redis on loopback
    .venv/bin/python bench/pg_bench.py retrieval --chunks 10000 100000
    .venv/bin/python bench/pg_bench.py rps --seconds 10 --concurrency 32

retrieval: the sample knowledge base (real MiniLM embeddings) plus synthetic distractor chunks (text from
``bench/rag_bench.py``; random unit vectors, since embedding 100 000 chunks takes ~10 minutes on 2 cores —
``--embed`` embeds them for real). The same chunks go into an SQLite file and a PostgreSQL database; the
labelled questions are searched with ``Retriever.search_sync`` (query embedding included) on both. Also
timed: each lexical candidate (BM25 in process vs PostgreSQL full-text search over the same jieba terms),
the dense ranking (numpy in process vs pgvector HNSW), and an index rebuild (what a refresh costs).

rps: two ``convoai-llm serve`` processes sharing PostgreSQL and Redis (rate limiting on, so every request
runs the Lua script), a mock upstream, and a client spreading requests round-robin over both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rag.eval_set import QUESTIONS  # noqa: E402

from bench.rag_bench import distractor, quality  # noqa: E402
from convoai_llm.rag.ingest import Ingestor, collect_files  # noqa: E402
from convoai_llm.rag.minilm import MiniLMEmbedder as Embedder  # noqa: E402
from convoai_llm.rag.pg_store import PgStore  # noqa: E402
from convoai_llm.rag.retrieve import Retriever  # noqa: E402
from convoai_llm.rag.store import KnowledgeStore, NewChunk  # noqa: E402
from convoai_llm.rag.tokenize import Tokenizer  # noqa: E402

EXAMPLES = ROOT / "examples" / "knowledge"
BATCH = 2000


def services_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "env"], capture_output=True, text=True)
    return dict(line.split("=", 1) for line in out.stdout.split())


def fresh_database(admin: str, name: str) -> str:
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{admin}/{name}"


def build(db: Path, url: str, total: int, embedder: Embedder, tokenizer: Tokenizer, embed: bool) -> None:
    """The same chunks into both stores; the HNSW index is built after the bulk load (as for a migration)."""
    rng, vrng = random.Random(7), np.random.default_rng(7)
    with KnowledgeStore(db, model_id=embedder.model_id) as lite, PgStore(url, model_id=embedder.model_id) as pg:
        pg._db.execute("DROP INDEX kb_chunks_embedding_hnsw")
        for store in (lite, pg):
            ingestor = Ingestor(store, embedder, tokenizer)
            for path in collect_files([EXAMPLES])[0]:
                ingestor.add(path)
        made, started = lite.chunk_count(), time.perf_counter()
        while made < total:
            texts = [distractor(rng, made + i) for i in range(min(BATCH, total - made))]
            if embed:
                vectors = embedder.embed(texts, batch_size=32)
            else:
                vectors = vrng.standard_normal((len(texts), embedder.dimension)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            terms = tokenizer.tokenize_many(texts)
            chunks = [NewChunk(t, terms[i], vectors[i]) for i, t in enumerate(texts)]
            for store in (lite, pg):
                store.put_document(f"synthetic/{made}", str(made), "Distractors", chunks)
            made += len(texts)
            print(f"\r  loaded {made}/{total} chunks ({time.perf_counter() - started:.0f} s)", end="", flush=True)
        started = time.perf_counter()
        pg._db.execute("SET maintenance_work_mem = '512MB'")
        pg._db.execute("CREATE INDEX kb_chunks_embedding_hnsw ON kb_chunks USING hnsw (embedding vector_cosine_ops)")
        print(f"\n  HNSW index built in {time.perf_counter() - started:.1f} s")
        pg._db.execute(
            "CREATE INDEX kb_chunks_fts ON kb_chunks USING gin (to_tsvector('simple', replace(terms, E'\\x1f', ' ')))"
        )
        pg._db.execute("VACUUM ANALYZE kb_chunks")


def timed(fn: Callable[[str], object], queries: list[str], rounds: int) -> tuple[float, float]:
    for query in queries[:5]:
        fn(query)
    timings = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            fn(query)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)]


def fts(conn: psycopg.Connection[tuple[object, ...]], tokenizer: Tokenizer) -> Callable[[str], object]:
    def search(query: str) -> object:
        terms = [t.replace("'", "") for t in tokenizer.tokenize(query) if t.strip("'")]
        tsquery = " | ".join(f"'{t}'" for t in terms) or "''"
        return conn.execute(
            "SELECT id, ts_rank(to_tsvector('simple', replace(terms, E'\\x1f', ' ')), q) AS r FROM kb_chunks, "
            "to_tsquery('simple', %s) q WHERE to_tsvector('simple', replace(terms, E'\\x1f', ' ')) @@ q "
            "ORDER BY r DESC LIMIT 30",
            (tsquery,),
        ).fetchall()

    return search


def retrieval(sizes: list[int], rounds: int, embed: bool) -> None:
    admin = services_env()["CONVOAI_KB_URL"].rsplit("/", 1)[0]
    embedder, tokenizer = Embedder(threads=1), Tokenizer()
    for size in sizes:
        print(f"== {size} chunks ({'embedded' if embed else 'random unit vectors for the distractors'})")
        with tempfile.TemporaryDirectory() as tmp:
            measure(size, Path(tmp) / "kb.sqlite3", fresh_database(admin, "convoai_bench"), embedder, tokenizer,
                    rounds=rounds, embed=embed)  # fmt: skip


def measure(
    size: int, db: Path, url: str, embedder: Embedder, tokenizer: Tokenizer, *, rounds: int, embed: bool
) -> None:
    queries = [q.text for q in QUESTIONS]
    build(db, url, size, embedder, tokenizer, embed)
    started = time.perf_counter()
    lite = Retriever(db, embedder=embedder, tokenizer=tokenizer)
    lite_build = time.perf_counter() - started
    started = time.perf_counter()
    pg = Retriever(url, embedder=embedder, tokenizer=tokenizer)
    pg_build = time.perf_counter() - started
    vectors = {q: embedder.embed_one(q) for q in queries}
    terms = {q: tokenizer.tokenize(q) for q in queries}
    th = lite.thresholds
    rows = {
        "end to end, SQLite": timed(lite.search_sync, queries, rounds),
        "end to end, PostgreSQL": timed(pg.search_sync, queries, rounds),
        "dense, numpy in process": timed(lambda q: lite._index.dense(vectors[q], th), queries, rounds),
        "dense, pgvector HNSW": timed(lambda q: pg._index.dense(vectors[q], th), queries, rounds),
        "lexical, BM25 in process": timed(lambda q: lite._index.lexical(terms[q], th), queries, rounds),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        rows["lexical, PostgreSQL FTS"] = timed(fts(conn, tokenizer), queries, rounds)
    for name, (p50, p95) in rows.items():
        print(f"  {name:28s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    print(f"  index (re)build: SQLite {lite_build:.1f} s, PostgreSQL {pg_build:.1f} s")
    for name, retriever in (("SQLite", lite), ("PostgreSQL", pg)):
        hit3, mrr = quality(retriever)
        print(f"  quality {name}: hit@3 {hit3:.3f}, MRR {mrr:.3f}")
    pg.close()


async def load(urls: list[str], seconds: float, concurrency: int, route: str) -> tuple[int, int, float]:
    import httpx

    body = {"model": "mock-stream", "messages": [{"role": "user", "content": "How much does the Day Pass cost?"}]}
    ok = failed = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency * 2)) as client:

        async def worker(n: int) -> None:
            nonlocal ok, failed
            i = n
            while time.monotonic() < deadline:
                started = time.perf_counter()
                resp = await client.post(urls[i % len(urls)] + route, json=body, headers={"Authorization": "Bearer k"})
                latencies.append(time.perf_counter() - started)
                ok, failed = (ok + 1, failed) if resp.status_code == 200 else (ok, failed + 1)
                i += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    latencies.sort()
    return ok, failed, latencies[len(latencies) // 2] * 1000 if latencies else 0.0


def rps(seconds: float, concurrency: int) -> None:
    from tests.scaleout.conftest import BIN
    from tests.servers import MockUpstream
    from tests.test_cli import free_port

    env = services_env()
    url = fresh_database(env["CONVOAI_KB_URL"].rsplit("/", 1)[0], "convoai_bench_rps")
    subprocess.run([str(BIN), "kb", "add", "--url", url, str(EXAMPLES)], check=True, capture_output=True)
    with MockUpstream() as upstream, tempfile.TemporaryDirectory() as tmp:
        procs, urls = [], []
        for _ in range(2):
            port = free_port()
            serve_env = {**os.environ, "PORT": str(port), "OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": "k",
                         "CONVOAI_KB_URL": url, "CONVOAI_REDIS_URL": env["CONVOAI_REDIS_URL"],
                         "CONVOAI_API_KEYS": "k", "CONVOAI_RATE_LIMIT_RPS": "1000000", "CONVOAI_LOG_LEVEL": "warning",
                         "CONVOAI_RATE_LIMIT_BURST": "1000000", "CONVOAI_MAX_STREAMS_PER_KEY": "100000"}  # fmt: skip
            procs.append(subprocess.Popen([str(BIN), "serve"], env=serve_env, cwd=tmp, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        try:
            import httpx

            for u in urls:
                while True:
                    try:
                        if httpx.get(u + "/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.3)
            for route in ("/v1/chat/completions", "/v1/rag/chat/completions"):
                for targets in (urls[:1], urls):
                    ok, failed, p50 = asyncio.run(load(targets, seconds, concurrency, route))
                    print(f"  {route:26s} {len(targets)} replica(s): {ok / seconds:7.1f} req/s "
                          f"(p50 {p50:.1f} ms, {failed} failed)")  # fmt: skip
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("retrieval")
    r.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    r.add_argument("--rounds", type=int, default=5)
    r.add_argument("--embed", action="store_true", help="embed the distractors for real (slow)")
    q = sub.add_parser("rps")
    q.add_argument("--seconds", type=float, default=10.0)
    q.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    if args.what == "retrieval":
        retrieval(args.chunks, args.rounds, args.embed)
    else:
        rps(args.seconds, args.concurrency)


if __name__ == "__main__":
    main()
