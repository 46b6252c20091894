"""Settings as a newcomer writes them: env.example copied to .env must mean the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[1] / "env.example"


def test_env_example_as_dotenv_keeps_the_embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CONVOAI_PROVIDER", "CONVOAI_API_KEYS"):
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(EXAMPLE.read_text())
    s = Settings(_env_file=dotenv)  # type: ignore[call-arg]
    assert s.effective_provider == "local"
    assert s.openai_api_key is None and s.api_keys == [] and s.kb_url is None and s.redis_url is None
    assert (s.port, s.rag_top_k, s.max_inflight) == (8000, 3, 4096)


def test_keys_host_port_and_empty_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVOAI_API_KEYS", " a , b,, ")
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", " ")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert [k.get_secret_value() for k in s.api_keys] == ["a", "b"]
    assert (s.host, s.port) == ("0.0.0.0", 9001)
    assert s.effective_provider == "openai" and s.openai_api_key is None
    assert s.upstream_base_url == "http://127.0.0.1:11434/v1"
    assert "a" not in repr(s.api_keys)  # secrets stay masked in reprs and logs
