"""The embedded model on voice turns: accuracy, loops, length, first-token latency, speed, memory, size.

    .venv/bin/python bench/brain_bench.py                                   # the catalog models installed
    .venv/bin/python bench/brain_bench.py --models qwen2.5-coder-0.5b-instruct --rag-budget none

Each model runs in its own process (so its RSS is its own) through `LocalProvider.stream`, exactly as the
server streams it: default voice prompt, sampling defaults, degeneration guard. The labelled set is
`bench/brain_set.json`: 40 everyday turns (20 English, 20 Chinese) and 22 RAG questions over
`examples/knowledge` (11 each, 3 of them not answerable from it).

Rules: an answer is correct when every keyword group has a match (case-insensitive substring), no
forbidden word appears, it is in the question's language (a Chinese answer has CJK characters, an
English one none), and it is not a loop. A **loop** is an answer the guard stopped as repetitive (it
would have looped on) or that ran to `max_tokens`. RAG turns are built as the server does (`rag.prompt.inject_passages`)
from the real retriever over a temporary KB of the sample documents, with the passages limited by
`LocalProvider.prompt_budget` (`--rag-budget none`: the server's top-3 passages, whole). RAG first
token = retrieval + the model's first token, i.e. the silence after the waiting line. Each first-token
figure is wall-clock, and in brackets the process's CPU seconds over the same span (all its threads:
llama.cpp reads prompts on 2 threads by default), which a loaded machine inflates far less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "bench" / "brain_set.json"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def correct(item: dict[str, Any], answer: str) -> bool:
    low = answer.lower()
    if not all(any(alt.lower() in low for alt in group) for group in item["all"]):
        return False
    if any(word.lower() in low for word in item.get("forbid", [])):
        return False
    has_cjk = bool(CJK.search(answer))
    return has_cjk if item["lang"] == "zh" else not has_cjk


class _Stops(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.loops = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "(loop)" in record.getMessage():
            self.loops += 1


def _retriever(tmp: Path) -> Any:
    from convoai_llm.rag.retrieve import Retriever
    from convoai_llm.rag.seed import seed_if_empty

    db = tmp / "kb.sqlite3"
    seed_if_empty(db, ROOT / "examples" / "knowledge")
    return Retriever(db, top_k=3)


def _rag_messages(retriever: Any, budget: Any, question: str) -> tuple[list[dict[str, Any]], list[float]]:
    """As `core.retrieval.Retrieval.rewrite` builds them (its budget branch for the local model)."""
    from convoai_llm.rag.prompt import detect_language, inject_passages

    messages = [{"role": "user", "content": question}]
    passages = retriever.search_sync(question, 3)
    scores = [round(float(p.score), 4) for p in passages]
    if budget is None:
        return inject_passages(messages, passages), scores
    texts = [budget.focus(p.text, question) for p in budget.select(passages, question)]
    return budget.prompt(messages, texts, detect_language(question)), scores


async def _one(provider: Any, messages: list[dict[str, Any]], max_tokens: int) -> dict[str, Any]:
    from convoai_llm.events import Finish, TextDelta, Usage
    from convoai_llm.providers.base import ProviderRequest

    request = ProviderRequest(model="", messages=messages, params={"max_tokens": max_tokens})
    started, cpu_started = time.perf_counter(), time.process_time()
    first: float | None = None
    first_cpu = 0.0
    text, finish, usage = [], "", None
    async for event in provider.stream(request):
        if isinstance(event, TextDelta):
            if first is None:
                first, first_cpu = time.perf_counter(), time.process_time() - cpu_started
            text.append(event.text)
        elif isinstance(event, Finish):
            finish = event.reason
        elif isinstance(event, Usage):
            usage = event
    end = time.perf_counter()
    pieces = usage.completion_tokens if usage else len(text)
    decode_s = end - (first or end)
    return {"answer": "".join(text), "finish": finish, "first_s": (first or end) - started, "first_cpu_s": first_cpu,
            "pieces": pieces, "tok_s": (pieces - 1) / decode_s if pieces > 1 and decode_s > 0 else None,
            "prompt_tokens": usage.prompt_tokens if usage else None}  # fmt: skip


async def _run_model(
    name: str, items: list[dict[str, Any]], rag_budget: bool, max_tokens: int, sampling: dict[str, float]
) -> dict[str, Any]:
    from convoai_llm.providers.local import LocalProvider
    from convoai_llm.settings import Settings

    stops = _Stops()
    logging.getLogger("convoai_llm.local").addHandler(stops)
    logging.getLogger("convoai_llm.local").setLevel(logging.INFO)
    provider = LocalProvider(Settings(_env_file=None, local_model=name))  # type: ignore[call-arg]
    if sampling:  # a sweep: other sampling defaults than the provider's
        import dataclasses

        tuned = dataclasses.replace(provider.config.sampling, **sampling)  # type: ignore[arg-type]
        provider.config = dataclasses.replace(provider.config, sampling=tuned)
    t0 = time.perf_counter()
    provider.load()
    load_s = time.perf_counter() - t0
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        retriever = _retriever(Path(tmp))
        retriever.search_sync("warm up", 1)
        budget = provider.prompt_budget if rag_budget else None
        for item in items:
            before = stops.loops
            retrieval_s, retrieval_cpu, scores = 0.0, 0.0, list[float]()
            messages = [{"role": "user", "content": item["prompt"]}]
            if item["kind"] == "rag":
                t, cpu = time.perf_counter(), time.process_time()
                messages, scores = _rag_messages(retriever, budget, item["prompt"])
                retrieval_s, retrieval_cpu = time.perf_counter() - t, time.process_time() - cpu
            result = await _one(provider, messages, max_tokens)
            result["first_s"] += retrieval_s
            result["first_cpu_s"] += retrieval_cpu
            result["loop"] = stops.loops > before or result["finish"] == "length"
            ok = correct(item, result["answer"]) and not result["loop"]  # a looping answer is no answer
            result.update(id=item["id"], kind=item["kind"], lang=item["lang"], scores=scores, correct=ok)
            records.append(result)
            print(f"  {item['id']:<18} {'ok ' if result['correct'] else 'BAD'} {'LOOP' if result['loop'] else '    '}"
                  f" {result['first_s']:.2f}s {result['first_cpu_s']:.2f}cpu {result['prompt_tokens']}"
                  f" {result['answer'][:90]!r}", file=sys.stderr, flush=True)  # fmt: skip
    await provider.aclose()
    from convoai_llm.providers.local_catalog import part_paths, spec_for

    parts = part_paths(spec_for(name)) or []
    return {"model": name, "load_s": load_s, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "download_mb": sum(p.stat().st_size for p in parts) / 1e6, "records": records}  # fmt: skip


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    recs = run["records"]

    def acc(kind: str, lang: str) -> str:
        sel = [r for r in recs if r["kind"] == kind and r["lang"] == lang]
        return f"{sum(r['correct'] for r in sel)}/{len(sel)}"

    chat = [r for r in recs if r["kind"] == "chat"]
    rag = [r for r in recs if r["kind"] == "rag"]
    speeds = [r["tok_s"] for r in recs if r["tok_s"]]
    return {
        "model": run["model"], "en": acc("chat", "en"), "zh": acc("chat", "zh"),
        "rag_en": acc("rag", "en"), "rag_zh": acc("rag", "zh"),
        "loops": f"{sum(r['loop'] for r in recs)}/{len(recs)}",
        "chars_median": statistics.median(len(r["answer"]) for r in recs),
        "first_chat_p50": _p([r["first_s"] for r in chat], 0.5),
        "first_chat_p95": _p([r["first_s"] for r in chat], 0.95),
        "first_rag_p50": _p([r["first_s"] for r in rag], 0.5),
        "first_rag_p95": _p([r["first_s"] for r in rag], 0.95),
        "cpu_chat_p50": _p([r["first_cpu_s"] for r in chat], 0.5),
        "cpu_rag_p50": _p([r["first_cpu_s"] for r in rag], 0.5),
        "tok_s": statistics.median(speeds) if speeds else float("nan"),
        "rss_mb": run["rss_mb"], "download_mb": run["download_mb"], "load_s": run["load_s"],
    }  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| model | English /20 | Chinese /20 | RAG en /11 | RAG zh /11 | loops | median answer (chars) | "
        "first token chat p50 / p95 (CPU p50) | RAG (after waiting line) p50 / p95 (CPU p50) | tokens/s | RSS | "
        "download |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['en']} | {r['zh']} | {r['rag_en']} | {r['rag_zh']} | {r['loops']} | "
            f"{r['chars_median']:.0f} | {r['first_chat_p50']:.2f} / {r['first_chat_p95']:.2f} s "
            f"({r['cpu_chat_p50']:.2f} s) | {r['first_rag_p50']:.2f} / {r['first_rag_p95']:.2f} s "
            f"({r['cpu_rag_p50']:.2f} s) | {r['tok_s']:.1f} | {r['rss_mb']:.0f} MB | "
            f"{r['download_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--rag-budget", choices=["local", "none"], default="local")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--only", default="", help="run only items whose id contains this")
    parser.add_argument("--kind", choices=["chat", "rag", "all"], default="all")
    parser.add_argument("--sampling", default="", help="e.g. repeat_penalty=1.0,min_p=0.1 (a sweep)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "brain")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    items = [i for i in json.loads(SET.read_text())["items"] if args.only in i["id"]]
    items = [i for i in items if args.kind in ("all", i["kind"])]
    sampling = {k: float(v) for k, v in (kv.split("=") for kv in args.sampling.split(",") if kv)}
    if args.worker:
        run = asyncio.run(_run_model(args.worker, items, args.rag_budget == "local", args.max_tokens, sampling))
        print(json.dumps(run, ensure_ascii=False))
        return 0
    from convoai_llm.providers.local_catalog import CATALOG, installed

    models = args.models or [s.name for s in CATALOG if installed(s)]
    runs = []
    for name in models:
        print(f"{name}:", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--worker", name, "--rag-budget", args.rag_budget,
               "--max-tokens", str(args.max_tokens), "--only", args.only, "--kind", args.kind,
               "--sampling", args.sampling]  # fmt: skip
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    load = Path("/proc/loadavg").read_text().split()[:3]
    report = table([summarize(r) for r in runs]) + f"\n\nload average at the end: {' '.join(load)}\n"
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "-".join(t for t in (args.rag_budget, args.only, args.kind if args.kind != "all" else "",
                                args.sampling.replace("=", "").replace(",", "_")) if t)  # fmt: skip
    (args.out / f"runs-{tag}.json").write_text(json.dumps(runs, ensure_ascii=False, indent=1))
    (args.out / f"REPORT-{tag}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
