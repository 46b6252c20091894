"""`python -m bench` (what `make bench` runs): convoai-llm vs the direct path vs LiteLLM's proxy.

Starts the mock upstream, the targets and, per run, a load-generator process; writes
`bench/results/LABEL/REPORT.md`, `latency.png`, `summary.json` (raw data and logs in
`bench/results/raw/LABEL/`, not committed).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import orjson

from bench import report
from bench.runner import Config, Run, log


def parse(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one round, fewer samples, short phases, no soak")
    ap.add_argument("--levels", help="comma-separated concurrency levels (default 1,16,64,256,1000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per level (default 3; quick 1)")
    ap.add_argument("--streams-per-worker", type=int, help="sequential streams per concurrent worker")
    ap.add_argument("--min-samples", type=int, help="TTFT samples per target and level, pooled")
    ap.add_argument(
        "--targets",
        help="comma-separated: direct,convoai-llm,litellm,portkey (default), convoai-llm-w2, convoai-llm-h11, "
        "convoai-llm-h2c (the same server, requests offering h2c), convoai-llm-granian, litellm-w2, "
        "floor (the bare uvicorn + aiohttp relay, bench/floor_relay.py)",
    )
    ap.add_argument("--ceiling", action="store_true", help="after the levels, raise concurrency until streams stall")
    ap.add_argument("--ceiling-max", type=int, default=4000)
    ap.add_argument("--pacing-ms", type=float, default=20.0)
    ap.add_argument("--deltas", type=int, default=64)
    ap.add_argument("--soak", action="store_true", help="run the soak in quick mode too")
    ap.add_argument("--no-soak", action="store_true")
    ap.add_argument("--soak-minutes", type=float, default=10.0)
    ap.add_argument("--soak-streams", type=int, default=256)
    ap.add_argument("--soak-targets", default="convoai-llm")
    ap.add_argument("--profile-seconds", type=float, help="py-spy the server at 256 streams (0: off)")
    ap.add_argument("--no-nonstream", action="store_true")
    ap.add_argument("--nonstream-seconds", type=float)
    ap.add_argument("--hangups", type=int, help="hang-up streams per target")
    ap.add_argument("--burst", type=int, default=1000, help="streams starting within one second (0: no burst)")
    ap.add_argument("--label", help="results folder name (default: quick or full)")
    ap.add_argument("--report-only", metavar="LABEL", help="re-render bench/results/LABEL from its summary.json")
    ap.add_argument("--wait-for-server", type=float, default=0.0, help="seconds to wait for src/convoai_llm to exist")
    a = ap.parse_args(argv)
    q = a.quick
    c = Config(label=a.label or ("quick" if q else "full"))
    if a.levels:
        c.levels = [int(x) for x in a.levels.split(",") if x.strip()]
    c.rounds = a.rounds or (1 if q else 3)
    c.streams_per_worker = a.streams_per_worker or (2 if q else 3)
    c.min_samples = a.min_samples or (15 if q else 45)
    if a.targets:
        c.targets = [x.strip() for x in a.targets.split(",") if x.strip()]
        if "direct" not in c.targets:
            c.targets.insert(0, "direct")
    c.ceiling, c.ceiling_max = a.ceiling, a.ceiling_max
    c.pacing_ms, c.deltas = a.pacing_ms, a.deltas
    c.soak_s = 0.0 if a.no_soak or (q and not a.soak) else a.soak_minutes * 60
    c.soak_streams = a.soak_streams
    c.soak_targets = [x.strip() for x in a.soak_targets.split(",") if x.strip()]
    c.profile_s = a.profile_seconds if a.profile_seconds is not None else (0.0 if q else 20.0)
    c.nonstream_s = 0.0 if a.no_nonstream else (a.nonstream_seconds or (4.0 if q else 10.0))
    c.hangup_count = a.hangups or (10 if q else 20)
    c.burst_streams = a.burst
    return c, a


def rerender(label: str) -> int:
    from bench.procs import ROOT
    from bench.profile import summarise_collapsed

    dest = ROOT / "bench" / "results" / label
    out = orjson.loads((dest / "summary.json").read_bytes())
    prof = out.get("profile") or {}
    if prof.get("file") and (dest / prof["file"]).exists():
        prof.update(summarise_collapsed((dest / prof["file"]).read_text()))
    (dest / "summary.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    md = report.write(out, dest, out.get("command", "python -m bench"))
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    cfg, a = parse(argv)
    if a.report_only:
        return rerender(a.report_only)
    from bench.targets import convoai_available

    if a.wait_for_server > 0 and any(t.startswith("convoai-llm") for t in cfg.targets):
        deadline = time.monotonic() + a.wait_for_server
        while not convoai_available() and time.monotonic() < deadline:
            time.sleep(10)
    run = Run(cfg)
    cmd = "python -m bench " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    t0 = time.monotonic()
    try:
        run.start()
        run.sanity()
        run.out["targets_run"] = list(run.targets)
        run.warmup()
        run.matrix()
        if cfg.burst_streams:
            run.burst()
        if cfg.hangup_count:
            run.hangup()
        if cfg.nonstream_s:
            run.nonstream()
        if cfg.profile_s:
            run.profile()
        if cfg.soak_s:
            run.soak()
    except KeyboardInterrupt:
        log("interrupted: writing what was measured")
    finally:
        run.stop()
    run.out["duration_s"] = time.monotonic() - t0
    run.out["command"] = cmd.strip()
    run.save()
    (run.report_dir / "summary.json").write_bytes(orjson.dumps(run.out, option=orjson.OPT_INDENT_2))
    md = report.write(run.out, run.report_dir, cmd.strip())
    log(f"report: {md} ({run.out['duration_s']:.0f}s)")
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
