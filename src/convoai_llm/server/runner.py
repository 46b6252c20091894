"""`serve(options)`: one process, or a supervisor and N SO_REUSEPORT workers, each a guarded uvicorn."""

from __future__ import annotations

import gc
import logging
import logging.config
import socket

import uvicorn

from convoai_llm.server.config import ServeOptions, build_config, log_config
from convoai_llm.server.fdlimit import raise_open_file_limit
from convoai_llm.server.limits import ConnectionLimits
from convoai_llm.server.workers import STARTUP_FAILURE, Supervisor, reuseport_socket
from convoai_llm.settings import Settings

log = logging.getLogger("convoai_llm.server")


class Server(uvicorn.Server):
    """uvicorn's server that, once start-up is done (models, indexes, the app), moves every object alive
    then out of the cyclic garbage collector's reach (`gc.freeze`): a full collection no longer walks the
    ~160 000 long-lived objects while requests run (one took ~110 ms of CPU in bench/hotpath_bench.py)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            gc.collect()
            gc.freeze()


def _limits(settings: Settings) -> ConnectionLimits:
    files = raise_open_file_limit()
    limits = ConnectionLimits.from_settings(settings, files.files)
    log.info(
        "connections: at most %d open, request head %d bytes within %.0f s, idle %.0f s",
        limits.max_connections,
        limits.max_header_bytes,
        limits.header_timeout_s,
        limits.idle_timeout_s,
    )
    return limits


def run_worker(options: ServeOptions) -> None:
    """One server process on its own SO_REUSEPORT socket (the target of each worker process)."""
    settings = Settings()
    logging.config.dictConfig(log_config(settings.log_level, settings.secret_values))
    config = build_config(settings, options, _limits(settings))
    sock = reuseport_socket(options.host, options.port)
    server = Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def serve(options: ServeOptions) -> int:
    """Run the server until SIGTERM/SIGINT; returns the exit code (3: it did not start)."""
    settings = Settings()
    logging.config.dictConfig(log_config(settings.log_level, settings.secret_values))
    if options.workers > 1 and not options.reload:
        return _supervise(settings, options)
    config = build_config(settings, options, _limits(settings))
    server = Server(config)
    if options.reload:
        from uvicorn.supervisors import ChangeReload

        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        return 0
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def _supervise(settings: Settings, options: ServeOptions) -> int:
    raise_open_file_limit()  # the workers inherit the raised limit
    holder = reuseport_socket(options.host, options.port)
    port = int(holder.getsockname()[1])
    log.info("%d workers on http://%s:%d (SO_REUSEPORT)", options.workers, options.host, port)
    worker_options = ServeOptions(options.host, port, options.workers, False, options.http)
    try:
        return Supervisor(worker_options, options.workers, run_worker, settings.shutdown_grace_s).run()
    finally:
        holder.close()
