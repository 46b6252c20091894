"""Worker processes, each with its own listening socket on one port (SO_REUSEPORT).

With SO_REUSEPORT the kernel spreads new connections over the workers' sockets by a hash of the
connection, instead of waking every worker on one shared socket. The supervisor holds the port with a
bound socket it never listens on (so a port of 0 is chosen once and no other program takes it),
starts the workers, forwards SIGTERM/SIGINT to them, and restarts a worker that died on its own.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from convoai_llm.server.config import ServeOptions

log = logging.getLogger("convoai_llm.server")

RESTART_BACKOFF_S = 1.0
STARTUP_FAILURE = 3  # a worker's exit code when its app did not start (uvicorn's own)
# Workers that fail to start (exit code 3, or exit this soon after their start) this many times in a row stop
# the server: restarting them forever would only hide the error.
EARLY_EXIT_S = 10.0
MAX_EARLY_EXITS = 3


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class Supervisor:
    """Runs ``count`` copies of ``target(options)`` in spawned processes until SIGTERM or SIGINT."""

    options: ServeOptions
    count: int
    target: Callable[[ServeOptions], None]
    grace_s: float
    processes: list[BaseProcess] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)
    early_exits: int = 0
    stopping: bool = False
    failed: bool = False

    def _spawn(self, index: int) -> BaseProcess:
        ctx = multiprocessing.get_context("spawn")
        proc = ctx.Process(target=self.target, args=(self.options,), name=f"convoai-llm-worker-{index}")
        proc.start()
        log.info("worker %d started (pid %s)", index, proc.pid)
        return proc

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for proc in self.processes:
            if proc.pid is not None and proc.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)

    def run(self) -> int:
        """Start the workers and supervise them; returns when all have stopped."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.processes = [self._spawn(i) for i in range(self.count)]
        self.started_at = [time.monotonic()] * self.count
        while not self.stopping:
            wait([p.sentinel for p in self.processes], timeout=1.0)
            for i, proc in enumerate(self.processes):
                if not self.stopping and not proc.is_alive():
                    self._restart(i, proc)
        return self._join()

    def _restart(self, index: int, proc: BaseProcess) -> None:
        early = proc.exitcode == STARTUP_FAILURE or time.monotonic() - self.started_at[index] < EARLY_EXIT_S
        self.early_exits = self.early_exits + 1 if early else 0
        if self.early_exits >= MAX_EARLY_EXITS:
            log.error("workers keep exiting right after they start (last exit code %s); stopping", proc.exitcode)
            self._on_signal(signal.SIGTERM, None)
            self.failed = True
            return
        log.warning("worker %d (pid %s) exited with %s; restarting it", index, proc.pid, proc.exitcode)
        time.sleep(RESTART_BACKOFF_S)
        self.processes[index] = self._spawn(index)
        self.started_at[index] = time.monotonic()

    def _join(self) -> int:
        deadline = time.monotonic() + self.grace_s + 5
        for proc in self.processes:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        return 1 if self.failed else 0
