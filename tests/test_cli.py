"""The CLI as a user runs it: `convoai-llm serve` in a real process, `convoai-llm ask` against it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import MockUpstream

BIN = Path(sys.executable).parent / "convoai-llm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(upstream: MockUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "OPENAI_BASE_URL": upstream.url,
           "OPENAI_API_KEY": "sk-cli-secret-key-123", "CONVOAI_LOG_LEVEL": "info"}  # fmt: skip
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=tmp_path_factory.mktemp("cwd"))  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90  # start-up loads the models: slow on a loaded machine
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(15)
    text = log.read_text()
    assert "sk-cli-secret-key-123" not in text, "the upstream key leaked into the log"
    assert "request route=/chat/completions" in text


def test_ask_streams_to_terminal(served: str, upstream: MockUpstream) -> None:
    out = subprocess.run([str(BIN), "ask", "--url", served, "--model", "mock-stream", "Hello?"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == upstream.text
    assert upstream.seen[-1].body["messages"] == [{"role": "user", "content": "Hello?"}]


def test_ask_no_stream_and_errors(served: str) -> None:
    out = subprocess.run([str(BIN), "ask", "--no-stream", "--url", served, "--model", "mock-stream", "Hi"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 0 and "Hello from the mock upstream" in out.stdout
    bad = subprocess.run([str(BIN), "ask", "--url", served, "--model", "mock-429", "Hi"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert bad.returncode == 1 and "error 429" in bad.stderr


def test_ask_unreachable_server() -> None:
    out = subprocess.run([str(BIN), "ask", "--url", f"http://127.0.0.1:{free_port()}", "Hi"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 1 and "cannot reach" in out.stderr


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_ask_audio_saves_a_wav(served: str, upstream: MockUpstream, tmp_path: Path) -> None:
    out_wav = tmp_path / "reply.wav"
    out = subprocess.run([str(BIN), "ask", "--url", served, "--model", "mock-stream", "--audio", str(out_wav), "Hi"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    # the transcript is what was spoken (issue 16): the same words, "upstream ." written "upstream."
    assert out.stdout.replace(" ", "").strip() == upstream.text.replace(" ", "")
    with wave.open(str(out_wav), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.getnframes() / 16000 > 1.0


def test_kb_and_tools_read_the_same_dotenv_as_serve(tmp_path: Path) -> None:
    """A value only in `.env` reaches `kb` and `tools`, not just `serve` (they share `Settings`)."""
    kb = tmp_path / "from-dotenv.sqlite3"
    config = Path(__file__).resolve().parents[1] / "examples" / "tools" / "tools.toml"
    (tmp_path / ".env").write_text(f"CONVOAI_KB_PATH={kb}\nCONVOAI_TOOLS_CONFIG={config}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVOAI_", "OPENAI_"))}
    doc = tmp_path / "hours.md"
    doc.write_text("# Hours\n\nWe open at nine on Sundays.\n", encoding="utf-8")
    added = subprocess.run(
        [BIN, "kb", "add", str(doc)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert added.returncode == 0, added.stderr
    assert kb.exists(), "kb add ignored CONVOAI_KB_PATH from .env"
    listed = subprocess.run([BIN, "tools", "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "calculator" in listed.stdout, listed.stderr


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup)")
def test_ask_in_process_runs_the_pipeline_without_a_server(tmp_path: Path) -> None:
    """`ask --in-process` drives RAG and audio through the core pipeline directly (no HTTP server)."""
    with MockUpstream() as upstream:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVOAI_", "OPENAI_"))}
        env.update(OPENAI_BASE_URL=upstream.url, OPENAI_API_KEY="k", CONVOAI_KB_PATH=str(tmp_path / "kb.sqlite3"))
        rag = subprocess.run([BIN, "ask", "--in-process", "--route", "rag", "--model", "mock-stream", "Sunday hours?"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert rag.returncode == 0, rag.stderr
        assert rag.stdout.startswith("Let me check that for you.")
        assert upstream.seen[-1].body["messages"][0]["role"] == "system"  # the passages (or their absence) turn
        wav = tmp_path / "answer.wav"
        spoken = subprocess.run([BIN, "ask", "--in-process", "--audio", str(wav), "--model", "mock-stream", "Hello?"],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert spoken.returncode == 0, spoken.stderr
        with wave.open(str(wav)) as audio:
            assert audio.getframerate() == 16000 and audio.getnframes() > 1600
