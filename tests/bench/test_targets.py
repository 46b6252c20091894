"""The bench's new targets and load-generator options: extra headers reach the server, Portkey's gateway
installs from the committed lockfile, takes its patch and relays the mock's stream, the h2c variant offers
the upgrade. Short runs on loopback; the bench itself is `make bench`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.procs import PORTKEY_ENTRY, PORTKEY_PATCH, ensure_portkey

from bench import targets as tg
from tests.servers import MockUpstream

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


def loadgen(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", *args], capture_output=True, cwd=str(ROOT),
                         timeout=60, check=True)  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("client", ["raw", "aiohttp"])
def test_loadgen_sends_extra_headers(upstream: MockUpstream, client: str) -> None:
    upstream.seen.clear()
    headers = ["--header", "x-portkey-provider: openai", "--header", "X-Custom-Host:http://127.0.0.1:9/v1"]
    res = loadgen("--url", f"{upstream.url}/chat/completions", "--model", "mock-stream", "--client", client, *headers)
    assert res["ok"] == 1 and res["errors"] == 0
    seen = {k.lower(): v for k, v in upstream.seen[-1].headers.items()}
    assert seen["x-portkey-provider"] == "openai"
    assert seen["x-custom-host"] == "http://127.0.0.1:9/v1"


def test_h2c_variant_shares_the_server_and_offers_the_upgrade() -> None:
    base = tg.Target("convoai-llm", "http://127.0.0.1:1", sample_pids=[42])
    variant = tg.h2c_variant(base, "convoai-llm-h2c")
    assert variant.base == base.base and variant.proc is None and variant.sample_pids == [42]
    assert "Upgrade: h2c" in variant.header_args and variant.header_args.count("--header") == 3


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed")
def test_portkey_installs_patched_and_relays_the_mock(tmp_path: Path) -> None:
    entry = ensure_portkey()  # npm ci from bench/portkey/package-lock.json when not yet installed
    assert entry == PORTKEY_ENTRY and PORTKEY_PATCH[1] in entry.read_bytes()
    lock = json.loads((ROOT / "bench" / "portkey" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@portkey-ai/gateway"]["version"] == "1.15.2"
    assert lock["packages"]["node_modules/@hono/node-server"]["version"] == "1.14.2"
    mock, mock_base = tg.start_mock(tmp_path, pacing_ms=5.0, deltas=8)
    target = None
    try:
        target = tg.portkey(mock_base, tmp_path)
        res = loadgen("--url", target.url, "--model", target.model, *target.header_args, "--stall-ms", "1000")
        assert res["ok"] == 1 and res["errors"] == 0, res
    finally:
        if target is not None:
            target.stop()
        mock.stop()


def test_report_names_each_figure_behind_portkey() -> None:
    from bench.report import behind_portkey, verdicts

    def level(p50: float, p99: float, gap: float) -> dict[str, float | bool]:
        return {"added_ttft_p50": p50, "added_ttft_p99": p99, "added_gap_p99": gap, "clean": True}

    def hangup(closed: int) -> dict[str, float | int | None]:
        return {"upstream_closed": closed, "hangups": 5, "ran_to_end": 5 - closed, "not_seen_by_mock": 0,
                "close_ms_max": 3.0 if closed else None, "close_ms_p50": 2.0 if closed else None}  # fmt: skip

    out = {
        "targets_run": ["direct", "convoai-llm", "portkey"],
        "levels": {"1": {"convoai-llm": level(1, 2, 3), "portkey": level(5, 1, 9)}},
        "nonstream": {"convoai-llm": {"rps": 100.0}, "portkey": {"rps": 40.0}},
        "hangup": {"convoai-llm": hangup(5), "portkey": hangup(0)},
    }
    assert behind_portkey(out, "convoai-llm") == ["ttft_p99 at 1 (2.0 vs 1.0 ms)"]
    out["levels"]["1"]["convoai-llm"]["added_ttft_p99"] = 0.5
    assert behind_portkey(out, "convoai-llm") == []
    out["nonstream"]["convoai-llm"]["rps"] = 10.0
    assert behind_portkey(out, "convoai-llm") == ["non-streaming req/s"]
    row = next(r for r in verdicts(out) if r[0].startswith("ahead of Portkey"))
    assert row[2] == "**missed**" and "non-streaming" in row[1]
