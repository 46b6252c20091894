"""The HTTP server layer below the ASGI app: uvicorn with a guarded httptools protocol, connection limits,
the open-file limit, and SO_REUSEPORT workers. `convoai-llm serve` is `serve(ServeOptions(...))`."""

from convoai_llm.server.config import ServeOptions, build_config
from convoai_llm.server.fdlimit import FileLimit, raise_open_file_limit
from convoai_llm.server.limits import ConnectionGuard, ConnectionLimits
from convoai_llm.server.protocol import GuardedHttpToolsProtocol, ServerConfig
from convoai_llm.server.runner import serve

__all__ = [
    "ConnectionGuard",
    "ConnectionLimits",
    "FileLimit",
    "GuardedHttpToolsProtocol",
    "ServeOptions",
    "ServerConfig",
    "build_config",
    "raise_open_file_limit",
    "serve",
]
