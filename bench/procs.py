"""Processes the harness starts: the mock upstream, the targets, and a psutil sampler for them."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
LITELLM_VENV = BENCH / ".venv-litellm"
# Pinned: an audited release from before the March 2026 supply-chain compromise of the PyPI package
# (1.82.7/1.82.8 carried a credential stealer); bump deliberately, never float.
LITELLM_SPEC = "litellm[proxy]==1.82.6"
# Portkey's gateway: versions pinned in bench/portkey/package.json + package-lock.json (npm ci).
PORTKEY_DIR = BENCH / "portkey"
PORTKEY_ENTRY = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
# On Node 20 every request fails with "TypeError: immutable" (Portkey-AI/gateway#1389): the gateway appends
# headers to the upstream fetch() Response, whose headers are immutable. Pinning @hono/node-server to 1.14.2
# (the npm override) is not enough with Node 20's own fetch; the fix of PR #1390 in its smallest form is to
# copy the Response before its headers are changed. Applied to the built file, once, after npm ci.
PORTKEY_PATCH = (
    b"this.updateHeaders(i,n.cacheStatus,o)",
    b"i=new Response(i.body,i),this.updateHeaders(i,n.cacheStatus,o)",
)


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # loopback only
            return 200 <= r.status < 300
    except (OSError, ValueError):
        return False


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return bytes(r.read())


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.log.close()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def spawn(name: str, cmd: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in Proc.stop
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT), start_new_session=True)
    return Proc(name, p, log_path, log)


def wait_healthy(proc: Proc, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        if http_ok(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} not healthy at {url} after {timeout:.0f}s:\n{proc.tail()}")


def ensure_litellm_venv() -> Path:
    """Create bench/.venv-litellm with LiteLLM's proxy from PyPI when missing; returns its CLI."""
    cli = LITELLM_VENV / "bin" / "litellm"
    if cli.exists():
        return cli
    print(f"[bench] creating {LITELLM_VENV} and installing {LITELLM_SPEC} (one time, ~1-2 min)", flush=True)
    base = shutil.which("python3") or PY
    subprocess.run([base, "-m", "venv", str(LITELLM_VENV)], check=True)
    pip = str(LITELLM_VENV / "bin" / "pip")
    subprocess.run([pip, "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([pip, "install", "-q", LITELLM_SPEC], check=True)
    return cli


def ensure_server_extras() -> Path:
    """Install bench/requirements-servers.txt (granian) into this virtualenv when missing; returns granian's CLI."""
    cli = Path(PY).parent / "granian"
    if not cli.exists():
        print("[bench] installing bench/requirements-servers.txt (one time)", flush=True)
        req = str(BENCH / "requirements-servers.txt")
        subprocess.run([PY, "-m", "pip", "install", "-q", "-r", req], check=True)
    return cli


def ensure_portkey() -> Path:
    """Install Portkey's gateway from the committed lockfile (npm ci) when missing, patch it; returns its entry."""
    if not PORTKEY_ENTRY.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed (Debian: apt-get install nodejs npm)")
        print(f"[bench] installing Portkey's gateway into {PORTKEY_DIR} (npm ci, one time)", flush=True)
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
        subprocess.run(cmd, cwd=str(PORTKEY_DIR), check=True)
    code = PORTKEY_ENTRY.read_bytes()
    old, new = PORTKEY_PATCH
    if new not in code:
        if code.count(old) != 1:
            raise RuntimeError("Portkey's build changed: the immutable-headers patch no longer applies")
        PORTKEY_ENTRY.write_bytes(code.replace(old, new))
    return PORTKEY_ENTRY


@dataclass
class Sample:
    t: float
    rss: int
    cpu: float


@dataclass
class Sampler:
    """Samples RSS (process tree) and CPU time of a set of root pids every ``interval`` seconds."""

    pids: list[int]
    interval: float = 0.1
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def _tree(self) -> list[psutil.Process]:
        out: list[psutil.Process] = []
        for pid in self.pids:
            try:
                root = self._procs.get(pid) or psutil.Process(pid)
                self._procs[pid] = root
                out.append(root)
                for ch in root.children(recursive=True):
                    out.append(self._procs.setdefault(ch.pid, ch))
            except psutil.Error:
                continue
        return out

    def measure(self) -> Sample:
        rss = 0
        cpu = 0.0
        for p in self._tree():
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    ct = p.cpu_times()
                    cpu += ct.user + ct.system
            except psutil.Error:
                continue
        return Sample(time.monotonic(), rss, cpu)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.measure())
            self._stop.wait(self.interval)

    def start(self) -> Sampler:
        self.samples.append(self.measure())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.samples.append(self.measure())

    @property
    def cpu_s(self) -> float:
        return self.samples[-1].cpu - self.samples[0].cpu if len(self.samples) >= 2 else 0.0

    @property
    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=0)

    @property
    def wall_s(self) -> float:
        return self.samples[-1].t - self.samples[0].t if len(self.samples) >= 2 else 0.0
