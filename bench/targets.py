"""The three targets of one run: direct → mock, convoai-llm → mock, LiteLLM's proxy → mock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import PY, ROOT, Proc, ensure_litellm_venv, free_port, spawn, wait_healthy

MOCK_MODEL = "mock-gpt"


@dataclass
class Target:
    name: str
    base: str  # http://127.0.0.1:PORT
    model: str = MOCK_MODEL
    proc: Proc | None = None
    # The process whose RSS/CPU is reported (the server; for "direct", the mock itself).
    sample_pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/v1/chat/completions"

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


def convoai(mock_base: str, log_dir: Path, workers: int = 1, extra_env: dict[str, str] | None = None) -> Target:
    port = free_port()
    env = {"OPENAI_BASE_URL": f"{mock_base}/v1", "OPENAI_API_KEY": "bench", "CONVOAI_PROVIDER": "openai"}
    env.update(extra_env or {})
    if workers == 1:
        cli = str(Path(PY).parent / "convoai-llm")
        cmd = [cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [PY, "-m", "uvicorn", "convoai_llm.api.app:create_app", "--factory", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
    name = "convoai-llm" if workers == 1 else f"convoai-llm-w{workers}"
    proc = spawn(name, cmd, log_dir, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", 60)
    return Target(name, base, proc=proc, sample_pids=[proc.pid])


def convoai_granian(mock_base: str, log_dir: Path) -> Target:
    """The same app under granian (Rust HTTP server, uvloop) instead of uvicorn: the server comparison."""
    port = free_port()
    env = {"OPENAI_BASE_URL": f"{mock_base}/v1", "OPENAI_API_KEY": "bench", "CONVOAI_PROVIDER": "openai"}
    cmd = [str(Path(PY).parent / "granian"), "--interface", "asgi", "--factory", "--loop", "uvloop"]
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
