"""The targets of one run, all in front of the same mock: direct, convoai-llm (and its server-layer variants),
LiteLLM's proxy, Portkey's gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import (
    PY,
    ROOT,
    Proc,
    ensure_litellm_venv,
    ensure_portkey,
    ensure_server_extras,
    free_port,
    spawn,
    wait_healthy,
)

MOCK_MODEL = "mock-gpt"


@dataclass
class Target:
    name: str
    base: str  # http://127.0.0.1:PORT
    model: str = MOCK_MODEL
    proc: Proc | None = None
    # The process whose RSS/CPU is reported (the server; for "direct", the mock itself).
    sample_pids: list[int] = field(default_factory=list)
    # Extra request headers the load generator sends to this target ("Name: value").
    headers: list[str] = field(default_factory=list)

    @property
    def header_args(self) -> list[str]:
        return [arg for h in self.headers for arg in ("--header", h)]

    @property
    def url(self) -> str:
        return f"{self.base}/v1/chat/completions"

    def loadgen_args(self, mode: str) -> list[str]:
        """The load generator's arguments that name this target and the run's mode."""
        return ["--url", self.url, *self.header_args, "--model", self.model, "--mode", mode]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def alive(self) -> bool:
        return self.proc is None or self.proc.alive()


def start_mock(log_dir: Path, pacing_ms: float, deltas: int) -> tuple[Proc, str]:
    port = free_port()
    cmd = [PY, "-m", "bench.mock_upstream", "--port", str(port), "--pacing-ms", str(pacing_ms)]
    cmd += ["--deltas", str(deltas)]
    proc = spawn("mock", cmd, log_dir)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", 20)
    return proc, base


def direct(mock: Proc, mock_base: str) -> Target:
    return Target("direct", mock_base, sample_pids=[mock.pid])


# What Java's HttpClient and `curl --http2` send on http://: an offer to switch to HTTP/2 (h2c).
H2C_OFFER = ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]


def convoai(
    mock_base: str,
    log_dir: Path,
    workers: int = 1,
    http: str = "httptools",
    name: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Target:
    """`convoai-llm serve` (``--workers N`` on SO_REUSEPORT sockets; ``--http h11`` for the parser comparison);
    `extra_env` adds settings (the hot-path bench sets the log level)."""
    port = free_port()
    env = {"OPENAI_BASE_URL": f"{mock_base}/v1", "OPENAI_API_KEY": "bench", "CONVOAI_PROVIDER": "openai"}
    env.update(extra_env or {})
    cli = str(Path(PY).parent / "convoai-llm")
    cmd = [cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--http", http]
    name = name or ("convoai-llm" if workers == 1 else f"convoai-llm-w{workers}")
    proc = spawn(name, cmd, log_dir, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", 60)
    return Target(name, base, proc=proc, sample_pids=[proc.pid])


def floor_relay(mock_base: str, log_dir: Path) -> Target:
    """The bare reference relay (`bench/floor_relay.py`): what uvicorn + aiohttp alone cost, for comparison."""
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "bench.floor_relay:app", "--http", "httptools", "--loop", "uvloop"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    proc = spawn("floor", cmd, log_dir, {"FLOOR_UPSTREAM": f"{mock_base}/v1"})
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", 30)
    return Target("floor", base, proc=proc, sample_pids=[proc.pid])


def h2c_variant(base: Target, name: str) -> Target:
    """The same running server, called with the h2c upgrade offer on every request."""
    return Target(name, base.base, base.model, proc=None, sample_pids=base.sample_pids, headers=H2C_OFFER)


def convoai_granian(mock_base: str, log_dir: Path) -> Target:
    """The same app under granian (Rust; HTTP/1.1 and real HTTP/2, h2c prior knowledge) instead of uvicorn."""
    cli = ensure_server_extras()
    port = free_port()
    env = {"OPENAI_BASE_URL": f"{mock_base}/v1", "OPENAI_API_KEY": "bench", "CONVOAI_PROVIDER": "openai"}
    cmd = [str(cli), "--interface", "asgi", "--factory", "--loop", "uvloop", "--http", "auto"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "convoai_llm.api.app:create_app"]
    proc = spawn("convoai-llm-granian", cmd, log_dir, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", 60)
    return Target("convoai-llm-granian", base, proc=proc, sample_pids=[proc.pid])


LITELLM_CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {mock_base}/v1
      api_key: bench
litellm_settings:
  telemetry: false
  drop_params: true
"""


def litellm(mock_base: str, log_dir: Path, workers: int = 1) -> Target:
    cli = ensure_litellm_venv()
    port = free_port()
    cfg = log_dir / "litellm-config.yaml"
    cfg.write_text(LITELLM_CONFIG.format(model=MOCK_MODEL, mock_base=mock_base))
    # No network but loopback: local cost map, no telemetry, no DB, quiet logs.
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
        "DISABLE_SCHEMA_UPDATE": "True",
        "OPENAI_API_KEY": "bench",
    }
    cmd = [str(cli), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--num_workers", str(workers)]
    name = "litellm" if workers == 1 else f"litellm-w{workers}"
    proc = spawn(name, cmd, log_dir, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/health/liveliness", 120)
    return Target(name, base, proc=proc, sample_pids=[proc.pid])


def convoai_available() -> bool:
    src = ROOT / "src" / "convoai_llm"
    return (src / "cli.py").exists() and (src / "api" / "app.py").exists()


def portkey(mock_base: str, log_dir: Path) -> Target:
    """Portkey's open-source gateway (npm, pinned in bench/portkey/package-lock.json), routed to the mock."""
    entry = ensure_portkey()
    port = free_port()
    proc = spawn("portkey", ["node", str(entry), f"--port={port}", "--headless"], log_dir, {"NODE_ENV": "production"})
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/", 60)
    headers = ["x-portkey-provider: openai", f"x-portkey-custom-host: {mock_base}/v1"]
    return Target("portkey", base, proc=proc, sample_pids=[proc.pid], headers=headers)
