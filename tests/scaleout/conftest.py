"""Real PostgreSQL (pgvector) and Redis on loopback for the scale-out tests, and `convoai-llm serve` replicas.

``scripts/services.sh start`` installs (Debian packages) and starts both in a throwaway directory when they
are not running; the session stops them afterwards when it started them. Each session works in its own
database, dropped at the end. The tests skip, saying why, only when the services can't be installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import MockUpstream
from tests.test_cli import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services.sh"
BIN = Path(sys.executable).parent / "convoai-llm"
CANNOT_INSTALL = 3


@dataclass(frozen=True)
class Services:
    admin_url: str  # the maintenance database, to create and drop test databases
    kb_url: str
    redis_url: str


def _services(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICES), command], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    try:
        import psycopg
        import redis  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the pg and redis extras are not installed ({exc.name}): pip install -e '.[pg,redis]'")
    started = _services("status").returncode != 0
    if started:
        result = _services("start")
        if result.returncode == CANNOT_INSTALL:
            pytest.skip(f"PostgreSQL/pgvector/Redis cannot be installed here: {result.stderr.strip()}")
        assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in _services("env").stdout.split())
    base = env["CONVOAI_KB_URL"].rsplit("/", 1)[0]
    name = f"convoai_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield Services(base + "/postgres", f"{base}/{name}", env["CONVOAI_REDIS_URL"])
    finally:
        try:
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except psycopg.OperationalError:
            pass  # the server was stopped meanwhile (another run's teardown): its throwaway data went with it
        if started:
            _services("stop")


def kb_cli(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`convoai-llm kb …` against the PostgreSQL knowledge base, as an operator runs it."""
    env = {**os.environ, "CONVOAI_KB_URL": url}
    return subprocess.run([str(BIN), "kb", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


@dataclass
class Replica:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


StartFn = Callable[..., list[Replica]]


@pytest.fixture(scope="module")
def replicas_factory(
    services: Services, upstream: MockUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartFn]:
    """``start(n, **env)``: n `convoai-llm serve` processes sharing the test database and Redis."""
    running: list[Replica] = []

    def start(n: int = 2, **extra: str) -> list[Replica]:
        env = {**os.environ, "HOST": "127.0.0.1", "OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": "sk-up",
               "CONVOAI_KB_URL": services.kb_url, "CONVOAI_REDIS_URL": services.redis_url,
               "CONVOAI_RAG_REFRESH_INTERVAL_S": "0.5", **extra}  # fmt: skip
        group: list[Replica] = []
        for _ in range(n):
            port = free_port()
            workdir = tmp_path_factory.mktemp("replica")
            log = workdir / "serve.log"
            with log.open("wb") as out:
                proc = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env={**env, "PORT": str(port)},
                                        stdout=out, stderr=subprocess.STDOUT, cwd=workdir)  # fmt: skip
            group.append(Replica(f"http://127.0.0.1:{port}", proc, log))
        running.extend(group)
        deadline = time.monotonic() + 60
        for replica in group:
            while not _ready(replica):
                assert replica.proc.poll() is None, replica.log.read_text()
                assert time.monotonic() < deadline, replica.log.read_text()
                time.sleep(0.2)
        return group

    yield start
    for replica in running:
        replica.proc.terminate()
    for replica in running:
        replica.proc.wait(20)


def _ready(replica: Replica) -> bool:
    try:
        return httpx.get(replica.url + "/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
