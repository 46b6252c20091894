"""Orchestrates one bench run: mock, targets, interleaved rounds, hang-up, non-streaming, profile, soak."""

from __future__ import annotations

import contextlib
import math
import platform
import shutil
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench import targets as tg
from bench.procs import LITELLM_VENV, PY, ROOT, Proc, Sampler, http_get, raise_nofile

Json = dict[str, Any]


@dataclass
class Config:
    label: str = "full"
    levels: list[int] = field(default_factory=lambda: [1, 16, 64, 256, 1000])
    rounds: int = 3
    streams_per_worker: int = 3
    min_samples: int = 45  # TTFT samples per (target, level), pooled over rounds
    pacing_ms: float = 20.0
    deltas: int = 64
    targets: list[str] = field(default_factory=lambda: ["direct", "convoai-llm", "litellm", "portkey"])
    ceiling: bool = False
    ceiling_max: int = 4000
    nonstream_s: float = 10.0
    nonstream_concurrency: int = 32
    hangup_count: int = 20
    soak_s: float = 600.0
    soak_streams: int = 256
    soak_targets: list[str] = field(default_factory=lambda: ["convoai-llm"])
    profile_s: float = 0.0
    burst_streams: int = 1000  # streams that all start within burst_window_s (0: no burst phase)
    burst_window_s: float = 1.0
    burst_skip: tuple[str, ...] = ("litellm",)  # targets that already fail at 64 streams
    profile_streams: int = 256
    out_dir: Path = ROOT / "bench" / "results"
    fail_error_rate: float = 0.2
    fail_stall_rate: float = 0.5

    @property
    def stall_ms(self) -> float:
        return 10 * self.pacing_ms

    @property
    def stream_s(self) -> float:
        return (self.deltas + 1) * self.pacing_ms / 1000


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Run:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.raw_dir = cfg.out_dir / "raw" / cfg.label
        self.log_dir = self.raw_dir / "logs"
        self.report_dir = cfg.out_dir / cfg.label
        self.mock: Proc | None = None
        self.mock_base = ""
        self.targets: dict[str, tg.Target] = {}
        self.out: Json = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}}
        self.seq = 0

    # -- setup ---------------------------------------------------------------------------------------
    def start(self) -> None:
        raise_nofile()
        if self.raw_dir.exists():
            shutil.rmtree(self.raw_dir)
        self.raw_dir.mkdir(parents=True)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.out["machine"] = machine_info()
        self.out["started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        self.mock, self.mock_base = tg.start_mock(self.log_dir, self.cfg.pacing_ms, self.cfg.deltas)
        log(f"mock upstream at {self.mock_base} (pid {self.mock.pid})")
        for name in self.cfg.targets:
            try:
                t = self.make_target(name)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                log(f"target {name} unavailable: {e}")
                self.out.setdefault("unavailable", {})[name] = str(e)[-2000:]
                continue
            self.targets[name] = t
            log(f"target {name} at {t.base}" + (f" (pid {t.proc.pid})" if t.proc else ""))
        if "direct" not in self.targets:
            raise RuntimeError("the direct target is required: added latency is measured against it")
        self.out["versions"] = versions()

    def make_target(self, name: str) -> tg.Target:
        assert self.mock is not None
        if name == "direct":
            return tg.direct(self.mock, self.mock_base)
        if name == "convoai-llm-granian":
            return tg.convoai_granian(self.mock_base, self.log_dir)
        if name == "portkey":
            return tg.portkey(self.mock_base, self.log_dir)
        if name == "floor":  # the bare uvicorn + aiohttp relay: the stack's own cost, for reference
            return tg.floor_relay(self.mock_base, self.log_dir)
        if name.startswith("convoai-llm"):
            if not tg.convoai_available():
                raise RuntimeError("src/convoai_llm/cli.py or api/app.py does not exist yet")
            if name.endswith("-h2c"):  # the same server, every request offering an h2c upgrade
                base = self.targets.get(name.removesuffix("-h2c"))
                if base is None:
                    raise RuntimeError(f"list {name.removesuffix('-h2c')} before {name} in --targets")
                return tg.h2c_variant(base, name)
            http = "h11" if "-h11" in name else "httptools"
            workers = int(name.rsplit("-w", 1)[1]) if "-w" in name else 1
            return tg.convoai(self.mock_base, self.log_dir, workers=workers, http=http, name=name)
        if name.startswith("litellm"):
            workers = int(name.rsplit("-w", 1)[1]) if "-w" in name else 1
            return tg.litellm(self.mock_base, self.log_dir, workers=workers)
        raise ValueError(f"unknown target {name}")

    def stop(self) -> None:
        for t in self.targets.values():
            t.stop()
        if self.mock is not None:
            self.mock.stop()

    # -- load generator ------------------------------------------------------------------------------
    def loadgen(self, args: list[str], timeout: float) -> Json:
        self.seq += 1
        out = self.raw_dir / f"lg-{self.seq:04d}.json"
        cmd = [PY, "-m", "bench.loadgen", *args, "--out", str(out), "--run-id", f"r{self.seq}"]
        res = subprocess.run(cmd, timeout=timeout, capture_output=True, cwd=str(ROOT))
        if res.returncode != 0:
            raise RuntimeError(f"loadgen failed ({res.returncode}): {res.stderr.decode()[-2000:]}")
        data: Json = orjson.loads(out.read_bytes())
        return data

    def measured(self, t: tg.Target, args: list[str], timeout: float, interval: float = 0.1) -> Json:
        """Run the load generator against ``t`` while sampling the target's and the mock's processes."""
        assert self.mock is not None
        ts = Sampler(t.sample_pids, interval).start()
        ms = Sampler([self.mock.pid], 0.5).start()
        cpu0 = psutil.cpu_times()
        w0 = time.monotonic()
        try:
            res = self.loadgen(args, timeout)
        finally:
            ts.stop()
            ms.stop()
        wall = time.monotonic() - w0
        cpu1 = psutil.cpu_times()
        busy = (cpu1.user + cpu1.system + cpu1.nice + cpu1.softirq + cpu1.irq) - (
            cpu0.user + cpu0.system + cpu0.nice + cpu0.softirq + cpu0.irq
        )
        rss = [s.rss for s in ts.samples]
        half = rss[len(rss) // 2 :] or rss
        res["server"] = {
            "cpu_s": ts.cpu_s,
            "cpu_util": ts.cpu_s / wall if wall else 0.0,
            "peak_rss": ts.peak_rss,
            "steady_rss": statistics.median(half) if half else 0,
            "end_rss": rss[-1] if rss else 0,
            "rss_series": [(round(s.t - w0, 2), s.rss) for s in ts.samples] if interval >= 1 else None,
        }
        res["mock"] = {"cpu_s": ms.cpu_s, "cpu_util": ms.cpu_s / wall if wall else 0.0}
        res["machine_busy_cores"] = busy / wall if wall else 0.0
        ours = ms.cpu_s + res["loadgen"]["cpu_s"] + (ts.cpu_s if t.name != "direct" else 0.0)
        res["other_cores"] = max(0.0, busy - ours) / wall if wall else 0.0
        res["target"] = t.name
        (self.raw_dir / f"lg-{self.seq:04d}.json").write_bytes(orjson.dumps(res))
        return res

    def stream_args(self, t: tg.Target, level: int, k: int) -> tuple[list[str], float]:
        c = self.cfg
        ramp = c.stream_s if level > 1 else 0.0
        max_s = min(600.0, ramp + k * (c.stream_s + 15) + 30)
        args = [*t.loadgen_args("stream"), "--concurrency", str(level)]
        args += ["--streams-per-worker", str(k), "--ramp-s", f"{ramp:.3f}", "--stall-ms", str(c.stall_ms)]
        args += ["--max-s", f"{max_s:.0f}", "--stream-timeout-s", "30"]
        return args, max_s + 60

    # -- phases --------------------------------------------------------------------------------------
    def sanity(self) -> None:
        for name, t in list(self.targets.items()):
            args, to = self.stream_args(t, 1, 1)
            try:
                r = self.loadgen(args, to)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                r = {"errors": 1, "errors_by_kind": {"loadgen": str(e)}}
            if r.get("errors"):
                log(f"target {name} failed its sanity stream: {r.get('errors_by_kind')}; dropped")
                self.out.setdefault("unavailable", {})[name] = f"sanity stream failed: {r.get('errors_by_kind')}"
                tail = t.proc.tail() if t.proc else ""
                self.out["unavailable"][name] += "\n" + tail
                if name != "direct":
                    t.stop()
                    del self.targets[name]

    def warmup(self) -> None:
        """A discarded burst per target so lazy imports and first-connection costs stay out of level 1."""
        for name, t in self.targets.items():
            args, to = self.stream_args(t, 16, 1)
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                r = self.loadgen(args, to)
                log(f"warm-up {name}: {r['ok']}/{r['streams']} ok")

    def matrix(self) -> None:
        c = self.cfg
        levels: Json = {}
        failed: dict[str, int] = {}
        clean_prev: set[str] = set()
        all_levels = list(c.levels)
        if c.ceiling:
            nxt = max(all_levels)
            while True:
                nxt = int(nxt * 1.5) if nxt < 2000 else nxt + 1000
                if nxt > c.ceiling_max:
                    break
                all_levels.append(nxt)
        for level in all_levels:
            ceiling_level = level > max(c.levels)
            rounds = 1 if ceiling_level else c.rounds
            k = max(c.streams_per_worker, math.ceil(c.min_samples / (level * rounds)))
            names = [n for n in self.targets if n not in failed]
            if ceiling_level:  # past the listed levels, only targets that were clean one level down go on
                names = [n for n in names if n == "direct" or n in clean_prev]
            if ceiling_level and len(names) == (1 if len(self.targets) > 1 else 0):
                break  # only the direct path left (or nothing at all): the ceiling search is over
            pooled: dict[str, list[Json]] = {n: [] for n in names}
            log(f"level {level}: {rounds} round(s) x {len(names)} targets, {k} streams per worker")
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for n in order:
                    t = self.targets[n]
                    if not t.alive():
                        log(f"  {n} died; skipping")
                        continue
                    args, to = self.stream_args(t, level, k)
                    try:
                        res = self.measured(t, args, to)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        log(f"  {n} round {r}: loadgen failed: {e}")
                        continue
                    pooled[n].append(res)
                    log(
                        f"  r{r} {n:>16}: ok {res['ok']}/{res['streams']} stalled {res['stalled_streams']} "
                        f"ttft p50 {fmt(res['ttft_p50'])} gap p99 {fmt(res['gap_p99'])} "
                        f"srv cpu {res['server']['cpu_util']:.2f} lg cpu {res['loadgen']['cpu_util']:.2f} "
                        f"mock cpu {res['mock']['cpu_util']:.2f}"
                    )
                    time.sleep(0.3)
            agg = {n: aggregate(runs) for n, runs in pooled.items() if runs}
            if "direct" in agg:
                d = agg["direct"]
                for a in agg.values():
                    for key in ("ttft_p50", "ttft_p99", "gap_p50", "gap_p99"):
                        a[f"added_{key}"] = sub(a.get(key), d.get(key))
            d = agg.get("direct")
            if ceiling_level and d is not None and not d["clean"]:
                # The mock or the generator itself stalls here: figures above this level mean nothing.
                self.out["harness_ceiling"] = level
                log(f"  the direct path stalls at {level}: the harness's own ceiling; stopping")
                failed.update({n: level for n in names})
            for n, a in agg.items():
                bad = a["streams"] == 0 or (
                    a["errors"] / a["streams"] > c.fail_error_rate
                    or a["stalled_streams"] / a["streams"] > c.fail_stall_rate
                )
                if n != "direct" and (bad or (ceiling_level and not a["clean"])):
                    failed[n] = level
            levels[str(level)] = agg
            clean_prev = {n for n, a in agg.items() if a["clean"]}
            self.out["levels"] = levels
            self.save()
        self.out["failed_at"] = failed

    def nonstream(self) -> None:
        c = self.cfg
        res: dict[str, list[Json]] = {n: [] for n in self.targets}
        rounds = max(1, min(c.rounds, 3))
        log(f"non-streaming: {rounds} round(s) x {c.nonstream_s:.0f}s at concurrency {c.nonstream_concurrency}")
        for r in range(rounds):
            names = list(self.targets)
            order = names[r % len(names) :] + names[: r % len(names)]
            for n in order:
                t = self.targets[n]
                args = t.loadgen_args("nonstream")
                args += [
                    "--concurrency",
                    str(c.nonstream_concurrency),
                    "--duration-s",
                    str(c.nonstream_s / rounds),
                ]
                args += ["--max-s", str(c.nonstream_s / rounds + 5), "--stream-timeout-s", "30"]
                try:
                    out = self.measured(t, args, c.nonstream_s + 90)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    log(f"  {n}: {e}")
                    continue
                res[n].append(out)
                log(f"  {n:>16}: {out['rps']:.0f} req/s, p50 {fmt(out['lat_p50'])} ms, errors {out['errors']}")
        summary: Json = {}
        for n, runs in res.items():
            if not runs:
                continue
            ok = sum(x["requests_ok"] for x in runs)
            wall = sum(x["wall_s"] for x in runs)
            cpu = sum(x["server"]["cpu_s"] for x in runs)
            summary[n] = {
                "rps": ok / wall if wall else 0.0,
                "requests_ok": ok,
                "errors": sum(x["errors"] for x in runs),
                "lat_p50": statistics.median([x["lat_p50"] for x in runs if x["lat_p50"] is not None] or [0]),
                "lat_p99": max((x["lat_p99"] for x in runs if x["lat_p99"] is not None), default=None),
                "cpu_ms_per_request": 1000 * cpu / ok if ok else None,
                "loadgen_cpu_util": max(x["loadgen"]["cpu_util"] for x in runs),
            }
        self.out["nonstream"] = summary
        self.save()

    def burst(self) -> None:
        """``burst_streams`` streams whose starts spread over ``burst_window_s``: TTFT when callers come at once."""
        c = self.cfg
        log(f"burst: {c.burst_streams} streams starting within {c.burst_window_s:.1f}s, per target")
        summary: Json = {}
        for n, t in self.targets.items():
            if n.startswith(c.burst_skip) or not t.alive():
                continue
            args = t.loadgen_args("stream")
            args += ["--concurrency", str(c.burst_streams), "--streams-per-worker", "1"]
            args += ["--ramp-s", str(c.burst_window_s), "--stall-ms", str(c.stall_ms)]
            args += ["--max-s", "120", "--stream-timeout-s", "30"]
            try:
                res = self.measured(t, args, 200)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"  {n}: {e}")
                continue
            summary[n] = {k: res.get(k) for k in ("streams", "ok", "errors", "stalled_streams", "ttft_p50", "ttft_p99",
                                                  "gap_p99", "errors_by_kind")}  # fmt: skip
            summary[n]["server_cpu_util"] = res["server"]["cpu_util"]
            summary[n]["loadavg"] = round(psutil.getloadavg()[0], 2)
            log(f"  {n:>16}: ok {res['ok']}/{res['streams']} ttft p50 {fmt(res['ttft_p50'])} "
                f"p99 {fmt(res['ttft_p99'])} ms, stalled {res['stalled_streams']}")  # fmt: skip
            time.sleep(1.0)
        if "direct" in summary:
            for a in summary.values():
                a["added_ttft_p99"] = sub(a["ttft_p99"], summary["direct"]["ttft_p99"])
        self.out["burst"] = summary
        self.save()

    def hangup(self) -> None:
        c = self.cfg
        assert self.mock is not None
        log(f"hang-up: {c.hangup_count} streams per target, closed after the first content event + 2")
        summary: Json = {}
        with contextlib.suppress(OSError):
            http_get(f"{self.mock_base}/_bench/tracked")  # clear
        for n, t in self.targets.items():
            args = [*t.loadgen_args("hangup"), "--count", str(c.hangup_count)]
            args += [
                "--concurrency",
                "4",
                "--hangup-after",
                "2",
                "--max-s",
                "120",
                "--stream-timeout-s",
                "30",
            ]
            try:
                out = self.loadgen(args, 200)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"  {n}: {e}")
                continue
            time.sleep(c.stream_s + 1.5)  # let streams that were not cancelled run to their end
            tracked: Json = orjson.loads(http_get(f"{self.mock_base}/_bench/tracked"))
            cancelled: list[float] = []
            not_cancelled: list[float] = []
            missing = 0
            for tag, closed_at in out["closes"].items():
                tr = tracked.get(tag)
                if tr is None:
                    missing += 1
                    continue
                if tr["closed"] is not None and (tr["completed"] is None or tr["closed"] < tr["completed"]):
                    cancelled.append((tr["closed"] - closed_at) * 1000)
                else:
                    end = tr["completed"] or time.monotonic()
                    not_cancelled.append((end - closed_at) * 1000)
            summary[n] = {
                "hangups": len(out["closes"]),
                "upstream_closed": len(cancelled),
                "ran_to_end": len(not_cancelled),
                "not_seen_by_mock": missing,
                "close_ms_p50": pct(cancelled, 50),
                "close_ms_max": max(cancelled) if cancelled else None,
                "ran_to_end_ms_p50": pct(not_cancelled, 50),
                "errors": out["errors"],
            }
            log(
                f"  {n:>16}: closed {len(cancelled)}/{len(out['closes'])} p50 {fmt(pct(cancelled, 50))} ms "
                f"max {fmt(max(cancelled) if cancelled else None)} ms; ran to end {len(not_cancelled)}"
            )
        self.out["hangup"] = summary
        self.save()

    def profile(self, name: str = "convoai-llm") -> None:
        c = self.cfg
        t = self.targets.get(name)
        spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
        if t is None or t.proc is None or not Path(spy).exists():
            log("profile: skipped (no target or no py-spy)")
            return
        dur = c.profile_s
        log(f"profile: py-spy on {name} for {dur:.0f}s at {c.profile_streams} streams")
        raw = self.report_dir / f"profile-{name}.txt"
        svg = self.report_dir / f"profile-{name}.svg"
        spy_cmd = [spy, "record", "--pid", str(t.proc.pid), "--duration", str(int(dur)), "--rate", "100"]
        spy_cmd += ["--subprocesses", "--nonblocking", "--format", "raw", "--output", str(raw)]
        args = [*t.loadgen_args("soak"), "--concurrency", str(c.profile_streams)]
        args += ["--duration-s", str(dur + 3), "--window-s", str(dur + 10), "--ramp-s", f"{c.stream_s:.2f}"]
        args += ["--stall-ms", str(c.stall_ms), "--stream-timeout-s", "30"]
        lg = subprocess.Popen(
            [PY, "-m", "bench.loadgen", *args, "--out", str(self.raw_dir / "profile-load.json")],
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(c.stream_s + 1)
            res = subprocess.run(spy_cmd, capture_output=True, timeout=dur + 60)
            if res.returncode != 0:
                log(f"profile: py-spy failed: {res.stderr.decode()[-500:]}")
                self.out["profile"] = {"error": res.stderr.decode()[-500:]}
                return
        finally:
            lg.wait(dur + 60)
        from bench.profile import summarise_collapsed

        summary = summarise_collapsed(raw.read_text())
        self.out["profile"] = {"file": raw.name, **summary}
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            # A flame graph too, for a person: a short second capture in SVG.
            svg_cmd = [*spy_cmd[:5], "10", *spy_cmd[6:]]
            svg_cmd[svg_cmd.index("raw")] = "flamegraph"
            svg_cmd[-1] = str(svg)
            lg2 = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "bench.loadgen",
                    *[a if a != str(dur + 3) else "14" for a in args],
                    "--out",
                    "/dev/null",
                ],
                cwd=str(ROOT),
                stdout=subprocess.DEVNULL,
            )
            time.sleep(c.stream_s + 1)
            subprocess.run(svg_cmd, capture_output=True, timeout=80)
            lg2.wait(60)
        self.save()

    def soak(self) -> None:
        c = self.cfg
        results: Json = {}
        for name in c.soak_targets:
            t = self.targets.get(name)
            if t is None:
                continue
            window = 60.0 if c.soak_s >= 300 else max(5.0, c.soak_s / 10)
            log(f"soak: {name} at {c.soak_streams} streams for {c.soak_s:.0f}s (windows of {window:.0f}s)")
            args = [*t.loadgen_args("soak"), "--concurrency", str(c.soak_streams)]
            args += [
                "--duration-s",
                str(c.soak_s),
                "--window-s",
                str(window),
                "--ramp-s",
                f"{c.stream_s:.2f}",
            ]
            args += ["--stall-ms", str(c.stall_ms), "--stream-timeout-s", "30"]
            try:
                out = self.measured(t, args, c.soak_s + 120, interval=1.0)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"  {name}: {e}")
                continue
            series = out["server"]["rss_series"] or []
            results[name] = {
                "duration_s": c.soak_s,
                "window_s": window,
                "streams": out["streams"],
                "errors": out["errors"],
                "stalled_streams": out["stalled_streams"],
                "windows": out["windows"],
                "rss_series": series,
                **rss_growth(series, window),
                "cpu_ms_per_stream": 1000 * out["server"]["cpu_s"] / out["streams"] if out["streams"] else None,
            }
            g = results[name]
            log(
                f"  {name}: {out['streams']} streams, errors {out['errors']}, "
                f"stalled {out['stalled_streams']}, "
                f"RSS {g['rss_start_mb']:.1f} -> {g['rss_end_mb']:.1f} MB, "
                f"{g['growth_mb_per_min']:+.2f} MB/min"
            )
        self.out["soak"] = results
        self.save()

    def save(self) -> None:
        (self.raw_dir / "summary.json").write_bytes(orjson.dumps(self.out, option=orjson.OPT_INDENT_2))


def fmt(v: float | None, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def aggregate(runs: list[Json]) -> Json:
    ttft = [x for r in runs for x in r.get("ttft", [])]
    gaps = [x for r in runs for x in r.get("gaps", [])]
    streams = sum(r["streams"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    stalled = sum(r["stalled_streams"] for r in runs)
    kinds: dict[str, int] = {}
    for r in runs:
        for k, v in r.get("errors_by_kind", {}).items():
            kinds[k] = kinds.get(k, 0) + v
    srv_cpu = sum(r["server"]["cpu_s"] for r in runs)
    return {
        "rounds": len(runs),
        "streams": streams,
        "ok": sum(r["ok"] for r in runs),
        "errors": errors,
        "error_rate": errors / streams if streams else 1.0,
        "errors_by_kind": kinds,
        "stalled_streams": stalled,
        # Sustained at this level: no error at all, and no stall in the majority of rounds (the median
        # round), so one burst from other processes on the shared machine does not decide it alone.
        "rounds_with_stalls": sum(1 for r in runs if r["stalled_streams"]),
        "clean": streams > 0 and errors == 0 and 2 * sum(1 for r in runs if r["stalled_streams"]) < len(runs),
        "peak_inflight": max(r["peak_inflight"] for r in runs),
        "ttft_p50": pct(ttft, 50),
        "ttft_p99": pct(ttft, 99),
        "gap_p50": pct(gaps, 50),
        "gap_p99": pct(gaps, 99),
        "gap_max": max(gaps) if gaps else None,
        "peak_rss_mb": max(r["server"]["peak_rss"] for r in runs) / 2**20,
        "steady_rss_mb": statistics.median(r["server"]["steady_rss"] for r in runs) / 2**20,
        "server_cpu_util": max(r["server"]["cpu_util"] for r in runs),
        "cpu_ms_per_stream": 1000 * srv_cpu / streams if streams else None,
        "mock_cpu_util": max(r["mock"]["cpu_util"] for r in runs),
        "loadgen_cpu_util": max(r["loadgen"]["cpu_util"] for r in runs),
        "loadgen_lag_p99_ms": max(r["loadgen"]["loop_lag_p99_ms"] or 0 for r in runs),
        "machine_busy_cores": max(r["machine_busy_cores"] for r in runs),
        "other_cores": max(r.get("other_cores", 0.0) for r in runs),
    }


def rss_growth(series: list[tuple[float, int]], window: float) -> Json:
    """RSS growth per minute: least-squares slope over the samples after the first window (warm-up)."""
    if len(series) < 3:
        return {"growth_mb_per_min": 0.0, "rss_start_mb": 0.0, "rss_end_mb": 0.0, "rss_by_window": []}
    pts = [(t, r / 2**20) for t, r in series if t >= window] or [(t, r / 2**20) for t, r in series]
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mr = sum(r for _, r in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    slope = sum((t - mt) * (r - mr) for t, r in pts) / den if den else 0.0
    by_window: list[tuple[int, float]] = []
    w = 0
    while True:
        sel = [r / 2**20 for t, r in series if w * window <= t < (w + 1) * window]
        if not sel:
            break
        by_window.append((w, statistics.mean(sel)))
        w += 1
    return {
        "growth_mb_per_min": slope * 60,
        "rss_start_mb": pts[0][1],
        "rss_end_mb": pts[-1][1],
        "rss_peak_mb": max(r for _, r in pts),
        "rss_by_window": by_window,
    }


def machine_info() -> Json:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(),
        "mem_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }


def versions() -> Json:
    out: Json = {}
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        out["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=str(ROOT), timeout=10
        ).stdout.strip()
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("convoai-llm", "uvicorn", "fastapi", "httpx", "aiohttp", "uvloop", "httptools", "orjson"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    pip = LITELLM_VENV / "bin" / "python"
    if pip.exists():
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out["litellm"] = subprocess.run(
                [str(pip), "-c", "from importlib.metadata import version; print(version('litellm'))"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.strip()
    return out
