"""The bench harness itself: mock upstream framing, load generator measurements, hang-up timing, report.

Small and fast (a few short streams on loopback); the bench run itself is `make bench`, never `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.procs import http_get
from bench.profile import summarise_collapsed
from bench.runner import aggregate, pct, rss_growth
from bench.targets import start_mock

from bench import report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, base = start_mock(tmp_path_factory.mktemp("mock"), pacing_ms=5.0, deltas=8)
    try:
        yield base
    finally:
        proc.stop()


def loadgen(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", *args], capture_output=True, cwd=str(ROOT), timeout=60, check=True
    )
    return json.loads(out.stdout)


def test_mock_stream_framing(mock: str) -> None:
    import urllib.request

    req = urllib.request.Request(
        f"{mock}/v1/chat/completions",
        data=b'{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
        assert r.headers["content-type"] == "text/event-stream"
    events = [e for e in body.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == [f"tok{i} " for i in range(8)]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks}) == 1


def test_mock_nonstream(mock: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"{mock}/v1/chat/completions", data=b'{"model":"m","messages":[]}')
    with urllib.request.urlopen(req, timeout=10) as r:
        d = json.loads(r.read())
    assert d["object"] == "chat.completion"
    assert d["choices"][0]["message"]["content"].startswith("tok0 tok1")


def test_loadgen_stream_measures_pacing(mock: str) -> None:
    d = loadgen(
        "--url",
        f"{mock}/v1/chat/completions",
        "--concurrency",
        "4",
        "--streams-per-worker",
        "2",
        "--ramp-s",
        "0.02",
        "--stall-ms",
        "50",
    )
    assert d["ok"] == 8 and d["errors"] == 0
    assert len(d["ttft"]) == 8
    # 8 deltas: 7 gaps between content events + the finish chunk = 8 gaps per stream
    assert len(d["gaps"]) == 8 * 8
    assert 3.0 <= d["gap_p50"] <= 15.0
    assert d["ttft_p50"] >= 4.0  # the first content delta comes one pacing after the role chunk
    assert d["loadgen"]["cpu_util"] < 1.0


def test_loadgen_counts_http_errors(mock: str) -> None:
    d = loadgen("--url", f"{mock}/nope", "--concurrency", "2")
    assert d["errors"] == 2 and d["errors_by_kind"] == {"http 404": 2}


def test_hangup_is_seen_by_mock(mock: str) -> None:
    http_get(f"{mock}/_bench/tracked")
    d = loadgen("--url", f"{mock}/v1/chat/completions", "--mode", "hangup", "--count", "3", "--concurrency", "3")
    assert len(d["closes"]) == 3
    time.sleep(0.2)
    tracked = json.loads(http_get(f"{mock}/_bench/tracked"))
    for tag, closed_at in d["closes"].items():
        t = tracked[tag]
        assert t["completed"] is None
        assert 0 <= (t["closed"] - closed_at) * 1000 < 50


def test_nonstream_mode(mock: str) -> None:
    d = loadgen(
        "--url", f"{mock}/v1/chat/completions", "--mode", "nonstream", "--concurrency", "2", "--duration-s", "0.3"
    )
    assert d["requests_ok"] > 10 and d["errors"] == 0


def test_profile_summary() -> None:
    text = (
        "process 1;thread (0x1);run (uvicorn/server.py:10);encode (orjson/__init__.py:3) 30\n"
        "process 1;thread (0x1);run (uvicorn/server.py:10);pump (convoai_llm/api/streaming.py:9);"
        "send (uvicorn/protocols/http/httptools_impl.py:5) 50\n"
        "process 1;thread (0x1);run (uvicorn/server.py:10);handle (/w/src/convoai_llm/api/routes.py:5) 20\n"
    )
    s = summarise_collapsed(text)
    assert s["samples"] == 100
    assert dict(s["self_by_package"]) == {"uvicorn": 50.0, "orjson": 30.0, "convoai_llm.api": 20.0}
    incl = dict(s["inclusive_by_function"])
    assert incl["pump (convoai_llm.api)"] == 50.0
    assert "run (uvicorn)" not in incl  # on every stack: left out


def test_rss_growth_slope() -> None:
    series = [(float(t), int((100 + t / 60) * 2**20)) for t in range(0, 600, 1)]
    g = rss_growth(series, 60)
    assert g["growth_mb_per_min"] == pytest.approx(1.0, rel=0.01)


def _run(ttft: list[float], gaps: list[float], stalled: int = 0) -> dict:
    return {
        "ttft": ttft,
        "gaps": gaps,
        "streams": len(ttft),
        "ok": len(ttft),
        "errors": 0,
        "stalled_streams": stalled,
        "peak_inflight": len(ttft),
        "server": {"cpu_s": 1.0, "cpu_util": 0.5, "peak_rss": 2**20, "steady_rss": 2**20},
        "mock": {"cpu_util": 0.1},
        "loadgen": {"cpu_util": 0.1, "loop_lag_p99_ms": 1.0},
        "machine_busy_cores": 1.0,
    }


def test_report_renders(tmp_path: Path) -> None:
    d = aggregate([_run([20.0, 21.0], [20.0] * 10)])
    c = aggregate([_run([21.0, 22.0], [20.5] * 10)])
    ll = aggregate([_run([40.0, 41.0], [30.0] * 10, stalled=1)])
    for a in (c, ll):
        for k in ("ttft_p50", "ttft_p99", "gap_p50", "gap_p99"):
            a[f"added_{k}"] = a[k] - d[k]
    out = {
        "config": {"label": "t", "deltas": 64, "pacing_ms": 20, "rounds": 1},
        "targets_run": ["direct", "convoai-llm", "litellm"],
        "levels": {"1": {"direct": d, "convoai-llm": c, "litellm": ll}},
        "hangup": {
            "convoai-llm": {
                "hangups": 3,
                "upstream_closed": 3,
                "ran_to_end": 0,
                "not_seen_by_mock": 0,
                "close_ms_p50": 2.0,
                "close_ms_max": 3.0,
                "ran_to_end_ms_p50": None,
                "errors": 0,
            }
        },
    }
    md = report.write(out, tmp_path, "python -m bench --quick").read_text()
    assert "| 1 | convoai-llm | 2 / 2 |" in md
    assert "hang-up -> upstream closed <= 50 ms | max 3.0 ms" in md
    assert report.sustained(out, "convoai-llm") == 1 and report.sustained(out, "litellm") == 0
    assert (tmp_path / "latency.png").stat().st_size > 1000


def test_pct() -> None:
    assert pct([], 50) is None
    assert pct([3.0, 1.0, 2.0], 50) == 2.0
    assert pct(list(map(float, range(101))), 99) == 99.0
