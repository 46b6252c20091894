"""Markdown report and PNG plots from a run's summary (``bench/results/raw/LABEL/summary.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Json = dict[str, Any]
SUT = "convoai-llm"
RSS_FLAT_MB_PER_MIN = 0.5


def f(v: float | None, nd: int = 1, plus: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.{nd}f}" if plus else f"{v:.{nd}f}"


def sustained(out: Json, target: str) -> int:
    """Highest level at which the target ran with no error and no stall (and every lower level did too)."""
    best = 0
    for lvl in sorted(out.get("levels", {}), key=int):
        a = out["levels"][lvl].get(target)
        if a is None or not a["clean"]:
            break
        best = int(lvl)
    return best


def lv(out: Json, level: int, target: str) -> Json | None:
    res: Json | None = out.get("levels", {}).get(str(level), {}).get(target)
    return res


def behind_portkey(out: Json, target: str) -> list[str]:
    """The figures on which ``target`` did worse than Portkey's gateway in this run (lower is better except
    requests/s and upstream closes)."""
    behind: list[str] = []
    for level in sorted(out.get("levels", {}), key=int):
        ours, theirs = out["levels"][level].get(target), out["levels"][level].get("portkey")
        for key in ("added_ttft_p50", "added_ttft_p99", "added_gap_p99"):
            a, b = (ours or {}).get(key), (theirs or {}).get(key)
            if a is not None and b is not None and a > b:
                behind.append(f"{key.removeprefix('added_')} at {level} ({f(a)} vs {f(b)} ms)")
    ns = out.get("nonstream", {})
    if target in ns and "portkey" in ns and ns[target]["rps"] < ns["portkey"]["rps"]:
        behind.append("non-streaming req/s")
    hu = out.get("hangup", {})
    if target in hu and "portkey" in hu and hu[target]["upstream_closed"] < hu["portkey"]["upstream_closed"]:
        behind.append("hang-ups closed")
    return behind


def verdicts(out: Json) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []

    def check(name: str, value: float | None, ok: bool | None, text: str) -> None:
        mark = "n/a" if ok is None or value is None else ("met" if ok else "**missed**")
        rows.append((name, text, mark))

    for target in [t for t in out.get("targets_run", []) if t.startswith(SUT)]:
        sfx = "" if target == SUT else f" ({target})"
        a1 = lv(out, 1, target)
        v = a1["added_ttft_p50"] if a1 else None
        check(f"added TTFT p50 at 1 stream <= 0.5 ms{sfx}", v, v is not None and v <= 0.5, f"{f(v, 2, True)} ms")
        a64 = lv(out, 64, target)
        v = a64["added_ttft_p99"] if a64 else None
        check(f"added TTFT p99 at 64 streams <= 3 ms{sfx}", v, v is not None and v <= 3, f"{f(v, 2, True)} ms")
        a256 = lv(out, 256, target)
        v = a256["added_gap_p99"] if a256 else None
        check(
            f"added inter-chunk p99 at 256 streams <= 5 ms{sfx}",
            v,
            v is not None and v <= 5,
            f"{f(v, 2, True)} ms",
        )
        s = sustained(out, target)
        check(f">= 1000 streams sustained, no stall > 10x pacing{sfx}", s, s >= 1000, f"{s} streams")
        if "litellm" in out.get("targets_run", []):
            for level, key in ((1, "added_ttft_p50"), (64, "added_ttft_p99")):
                ours, theirs = lv(out, level, target), lv(out, level, "litellm")
                if ours and theirs and ours[key] is not None and theirs[key] is not None:
                    ratio = (ours[key] / theirs[key]) if theirs[key] > 0 else None
                    check(
                        f"<= 1/10 of LiteLLM's added latency ({key.removeprefix('added_')}, {level}){sfx}",
                        ratio,
                        ratio is not None and ratio <= 0.1,
                        f"{f(ours[key], 2)} vs {f(theirs[key], 2)} ms ({f(ratio, 3)}x)",
                    )
            sl = sustained(out, "litellm")
            ratio = s / sl if sl else None
            check(
                f">= 5x LiteLLM's sustained streams{sfx}",
                s,
                (ratio is not None and ratio >= 5) or (sl == 0 and s > 0),
                f"{s} vs {sl} ({f(ratio, 1)}x)" if sl else f"{s} vs {sl}",
            )
        if "portkey" in out.get("targets_run", []):
            behind = behind_portkey(out, target)
            check(
                f"ahead of Portkey on every figure both have{sfx}",
                len(behind),
                not behind,
                "ahead on all" if not behind else "behind on " + "; ".join(behind),
            )
        h = out.get("hangup", {}).get(target)
        if h:
            mx = h["close_ms_max"]
            ok = h["ran_to_end"] == 0 and h["not_seen_by_mock"] == 0 and mx is not None and mx <= 50
            check(
                f"hang-up -> upstream closed <= 50 ms{sfx}",
                mx,
                ok,
                f"max {f(mx)} ms, p50 {f(h['close_ms_p50'])} ms, {h['upstream_closed']}/{h['hangups']} closed",
            )
        b = out.get("burst", {}).get(target)
        if b and b.get("streams", 0) >= 1000:  # DESIGN.md: 1 000 streams starting within one second
            v = b.get("ttft_p99")
            check(f"burst of {b['streams']}: TTFT p99 <= 100 ms{sfx}", v, v is not None and v <= 100, f"{f(v)} ms")
        so = out.get("soak", {}).get(target)
        if so:
            g = so["growth_mb_per_min"]
            check(
                f"flat RSS over the soak (|growth| <= {RSS_FLAT_MB_PER_MIN} MB/min){sfx}",
                g,
                abs(g) <= RSS_FLAT_MB_PER_MIN,
                f"{g:+.2f} MB/min over {so['duration_s'] / 60:.1f} min ({so['rss_start_mb']:.0f} -> "
                f"{so['rss_end_mb']:.0f} MB)",
            )
    return rows


def markdown(out: Json, cmd: str) -> str:
    m = out.get("machine", {})
    v = out.get("versions", {})
    cfg = out.get("config", {})
    L: list[str] = []
    L.append(f"# convoai-llm bench: {cfg.get('label')}")
    L.append("")
    L.append(
        f"Run {out.get('started')} with `{cmd}` on {m.get('cpu')} "
        f"({m.get('cores')} cores, {m.get('mem_gb')} GB), "
        f"Python {m.get('python')}, load average at start {m.get('loadavg_at_start')}. "
        f"Commit {v.get('git')}; LiteLLM {v.get('litellm', '-')}, uvicorn {v.get('uvicorn')}, "
        f"aiohttp {v.get('aiohttp')}, uvloop {v.get('uvloop')}."
    )
    L.append("")
    L.append(
        f"Mock upstream: role chunk + {cfg.get('deltas')} content deltas paced "
        f"{cfg.get('pacing_ms')} ms + finish + "
        f"`[DONE]`. A stall is a gap > {10 * float(cfg.get('pacing_ms', 20)):.0f} ms. Rounds per level: "
        f'{cfg.get("rounds")}, interleaved and rotated across targets. "Added" = target minus direct, '
        "same level, pooled over rounds. Mock, load generator and server share the same 2 cores: read the "
        "harness columns before trusting a high-concurrency figure."
    )
    if out.get("unavailable"):
        L.append("")
        for name, why in out["unavailable"].items():
            L.append(f"- target `{name}` not measured: {why.splitlines()[0][:300]}")
    rows = verdicts(out)
    if rows:
        L += ["", "## DESIGN.md section 5 targets", "", "| target | measured | |", "|---|---|---|"]
        L += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    L += ["", "## Streaming, per concurrency level", ""]
    L.append(
        "| streams | target | ok / total | err % | stalled | TTFT p50 / p99 ms | added TTFT p50 / p99 ms | "
        "gap p50 / p99 ms | added gap p50 / p99 ms | max gap ms | RSS peak / steady MB | CPU ms/stream | "
        "server cores | rounds with stalls |"
    )
    L.append("|" + "---|" * 14)
    for lvl in sorted(out.get("levels", {}), key=int):
        for t, a in out["levels"][lvl].items():
            L.append(
                f"| {lvl} | {t} | {a['ok']} / {a['streams']} | {100 * a['error_rate']:.1f} | "
                f"{a['stalled_streams']} | "
                f"{f(a['ttft_p50'])} / {f(a['ttft_p99'])} | "
                f"{f(a.get('added_ttft_p50'), 2, True) if t != 'direct' else '-'} / "
                f"{f(a.get('added_ttft_p99'), 2, True) if t != 'direct' else '-'} | "
                f"{f(a['gap_p50'])} / {f(a['gap_p99'])} | "
                f"{f(a.get('added_gap_p50'), 2, True) if t != 'direct' else '-'} / "
                f"{f(a.get('added_gap_p99'), 2, True) if t != 'direct' else '-'} | {f(a['gap_max'], 0)} | "
                f"{f(a['peak_rss_mb'], 0)} / {f(a['steady_rss_mb'], 0)} | {f(a['cpu_ms_per_stream'], 2)} | "
                f"{f(a['server_cpu_util'], 2)} | {a.get('rounds_with_stalls', '-')} / {a['rounds']} |"
            )
    L.append("")
    L.append(
        "For `direct` the RSS/CPU columns are the mock's own. A gap p50 near 0 (a negative added gap) means "
        "chunks arrived bunched, several in one read: the stream fell behind and caught up. Error kinds, "
        "where any:"
    )
    void = [
        lvl
        for lvl in sorted(out.get("levels", {}), key=int)
        if out["levels"][lvl].get("direct") and out["levels"][lvl]["direct"]["stalled_streams"]
    ]
    if void:
        L.append(
            f"- **the direct path itself stalled at {', '.join(void)} streams**: the mock, the generator or "
            "other processes on the machine ran out of CPU there, so those rows measure the machine, not the targets."
        )
    for lvl in sorted(out.get("levels", {}), key=int):
        for t, a in out["levels"][lvl].items():
            if a["errors_by_kind"]:
                L.append(f"- {lvl} {t}: {a['errors_by_kind']}")
    L += [
        "",
        "## Sustained streams",
        "",
        "A level is sustained when no stream failed and the majority of its rounds had no stall (a gap > "
        '10x the pacing); every lower level must be sustained too. "Stalled" in the table above counts '
        "streams over all rounds.",
        "",
        "| target | highest sustained level | skipped from (too many errors or stalls) |",
        "|---|---|---|",
    ]
    for t in out.get("targets_run", []):
        L.append(f"| {t} | {sustained(out, t)} | {out.get('failed_at', {}).get(t, '-')} |")
    L += ["", "## Harness health (is the generator or the mock the bottleneck?)", ""]
    L.append(
        "| streams | target | load generator CPU (1.0 = saturated) | generator loop lag p99 ms | "
        "mock CPU cores | "
        "machine busy cores (of 2) | of which other processes (not bench) |"
    )
    L.append("|---|---|---|---|---|---|---|")
    for lvl in sorted(out.get("levels", {}), key=int):
        for t, a in out["levels"][lvl].items():
            L.append(
                f"| {lvl} | {t} | {a['loadgen_cpu_util']:.2f} | {a['loadgen_lag_p99_ms']:.1f} | "
                f"{a['mock_cpu_util']:.2f} | {a['machine_busy_cores']:.2f} | {a.get('other_cores', 0.0):.2f} |"
            )
    if out.get("hangup"):
        L += ["", "## Client hang-up -> upstream connection closed", ""]
        L.append(
            "| target | hang-ups | upstream closed | p50 ms | max ms | ran to the end instead | p50 ms to its end |"
        )
        L.append("|---|---|---|---|---|---|---|")
        for t, h in out["hangup"].items():
            L.append(
                f"| {t} | {h['hangups']} | {h['upstream_closed']} | {f(h['close_ms_p50'])} | "
                f"{f(h['close_ms_max'])} | "
                f"{h['ran_to_end']} | {f(h['ran_to_end_ms_p50'], 0)} |"
            )
    if out.get("burst"):
        b0 = next(iter(out["burst"].values()))
        L += ["", f"## Burst: {b0['streams']} streams starting within {cfg.get('burst_window_s')} s", ""]
        L.append("| target | ok / total | stalled | TTFT p50 / p99 ms | added TTFT p99 ms | server cores | load |")
        L.append("|---|---|---|---|---|---|---|")
        for t, b in out["burst"].items():
            L.append(
                f"| {t} | {b['ok']} / {b['streams']} | {b['stalled_streams']} | {f(b['ttft_p50'])} / "
                f"{f(b['ttft_p99'])} | {f(b.get('added_ttft_p99'), 1, True) if t != 'direct' else '-'} | "
                f"{b['server_cpu_util']:.2f} | {b['loadavg']} |"
            )
    if out.get("nonstream"):
        L += ["", f"## Non-streaming (concurrency {cfg.get('nonstream_concurrency')})", ""]
        L.append("| target | requests/s | p50 ms | p99 ms | errors | server CPU ms/request | generator CPU |")
        L.append("|---|---|---|---|---|---|---|")
        for t, n in out["nonstream"].items():
            L.append(
                f"| {t} | {n['rps']:.0f} | {f(n['lat_p50'])} | {f(n['lat_p99'])} | {n['errors']} | "
                f"{f(n['cpu_ms_per_request'], 2)} | {n['loadgen_cpu_util']:.2f} |"
            )
    for t, so in out.get("soak", {}).items():
        L += ["", f"## Soak: {t}, {cfg.get('soak_streams')} streams for {so['duration_s'] / 60:.1f} min", ""]
        L.append(
            f"{so['streams']} streams, {so['errors']} errors, {so['stalled_streams']} stalled; RSS growth "
            f"{so['growth_mb_per_min']:+.2f} MB/min (least squares after the first window), "
            f"{so['rss_start_mb']:.1f} -> {so['rss_end_mb']:.1f} MB, "
            f"CPU {f(so['cpu_ms_per_stream'], 2)} ms/stream."
        )
        L += [
            "",
            "| window | RSS MB | streams | errors | stalled | gap p99 ms |",
            "|---|---|---|---|---|---|",
        ]
        rss = dict(so["rss_by_window"])
        for w in so["windows"]:
            L.append(
                f"| {w['minute']} | {f(rss.get(w['minute']))} | {w['streams']} | {w['errors']} | "
                f"{w['stalled_streams']} | {f(w['gap_p99'])} |"
            )
    p = out.get("profile")
    if p and p.get("samples"):
        L += ["", f"## Profile: py-spy on convoai-llm at {cfg.get('profile_streams')} streams", ""]
        L.append(f"{p['samples']} samples (`{p['file']}`, collapsed stacks; flame graph beside it).")
        L += ["", "| self time by package | % |", "|---|---|"]
        L += [f"| {k} | {v} |" for k, v in p["self_by_package"][:15]]
        L += ["", "| self time by function | % |", "|---|---|"]
        L += [f"| `{k}` | {v} |" for k, v in p["self_by_function"][:20]]
        L += ["", "| inclusive time by function (frames on > 95% of stacks left out) | % |", "|---|---|"]
        L += [f"| `{k}` | {v} |" for k, v in p["inclusive_by_function"][:20]]
        L.append("")
        L.append(
            "py-spy samples a runnable thread whether or not it holds a core, and uvloop's own C code (polling, "
            "socket I/O) shows as `Runner.run`."
        )
    L += ["", "![added latency vs concurrency](latency.png)", ""]
    return "\n".join(L)


def plots(out: Json, dest: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[Path] = []
    levels = sorted(out.get("levels", {}), key=int)
    names = [t for t in out.get("targets_run", []) if t != "direct"]
    if levels and names:
        fig, axes = plt.subplots(2, 2, figsize=(11, 8))
        keys = [
            ("added_ttft_p50", "added TTFT p50 (ms)"),
            ("added_ttft_p99", "added TTFT p99 (ms)"),
            ("added_gap_p50", "added inter-chunk gap p50 (ms)"),
            ("added_gap_p99", "added inter-chunk gap p99 (ms)"),
        ]
        for ax, (key, title) in zip(axes.flat, keys, strict=True):
            for t in names:
                xs, ys = [], []
                for lvl in levels:
                    a = out["levels"][lvl].get(t)
                    if a and a.get(key) is not None:
                        xs.append(int(lvl))
                        ys.append(a[key])
                if xs:
                    ax.plot(xs, ys, marker="o", label=t)
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_xlabel("concurrent streams")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.axhline(0, color="grey", lw=0.5)
            ax.legend(fontsize=8)
        fig.suptitle("convoai-llm bench: latency added over calling the mock directly")
        fig.tight_layout()
        p = dest / "latency.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        made.append(p)
    if out.get("soak"):
        fig, ax = plt.subplots(figsize=(9, 4))
        for t, so in out["soak"].items():
            xs = [s[0] / 60 for s in so["rss_series"]]
            ys = [s[1] / 2**20 for s in so["rss_series"]]
            ax.plot(xs, ys, label=f"{t} ({so['growth_mb_per_min']:+.2f} MB/min)")
        ax.set_xlabel("minutes")
        ax.set_ylabel("RSS (MB)")
        ax.set_title("soak: server RSS")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        p = dest / "soak.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        made.append(p)
    return made


def write(out: Json, dest: Path, cmd: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    plots(out, dest)
    md = dest / "REPORT.md"
    md.write_text(markdown(out, cmd))
    return md
