"""Fixtures for the speech tests (helpers live in speech_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.speech.speech_helpers import FakeTTS


@pytest.fixture
def fake_tts() -> FakeTTS:
    return FakeTTS()


@pytest.fixture
def slow_binary(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A stand-in for espeak-ng that records its pid and then sleeps: (binary, pid file)."""
    pid_file = tmp_path / "tts.pid"
    binary = tmp_path / "slow-tts"
    binary.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 30\n')
    binary.chmod(0o755)
    yield binary, pid_file
