"""First audio through a real server: from the upstream sending the end of the reply's first piece to
the client receiving that piece's first audio chunk.

A text upstream (Starlette on uvicorn, in this process) streams each reply in 4-character tokens
`pacing_s` apart, and notes when it sent the token that completes the reply's first piece (the first
sentence or clause, as the server's segmenter cuts the whole text). A real `convoai-llm serve` process
(bench/speech_wer.Server) calls it for `/v1/audio/chat/completions`; the client (httpx, same event
loop, same clock) notes when the first `delta.audio.data` arrives. Replies run one after another.
The server's CPU time (user + system, its espeak-ng children included once reaped) is read from /proc.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bench.speech_wer import Server
from convoai_llm.speech.segmenter import Segmenter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_piece_end(text: str) -> int:
    """Characters up to the end of the first piece the server's segmenter cuts from `text`."""
    segmenter = Segmenter()
    pieces = segmenter.push(text) + segmenter.flush()
    return len(pieces[0])


@dataclass
class TextUpstream:
    """Streams `replies[i]` for a request whose last message is ``reply-i``; notes when each first piece ended."""

    replies: list[str]
    pacing_s: float
    ended: dict[int, float] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> StreamingResponse:
        body = await request.json()
        index = int(body["messages"][-1]["content"].removeprefix("reply-"))
        return StreamingResponse(self.stream(index), media_type="text/event-stream")

    async def stream(self, index: int) -> AsyncIterator[bytes]:
        text, end = self.replies[index], first_piece_end(self.replies[index])

        def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}
            return b"data: " + json.dumps(body).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for start in range(0, len(text), 4):
            await asyncio.sleep(self.pacing_s)
            yield chunk({"content": text[start : start + 4]})
            if start < end <= start + 4:
                self.ended[index] = time.perf_counter()
        yield chunk({}, "stop")
        yield b"data: [DONE]\n\n"


async def first_audio_at(url: str, index: int) -> float:
    """When (`time.perf_counter`) reply `index`'s first audio chunk arrived; the reply is read to its end."""
    body = {"stream": True, "messages": [{"role": "user", "content": f"reply-{index}"}]}
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("POST", url + "/v1/audio/chat/completions", json=body) as response,
    ):
        arrived: float | None = None
        async for line in response.aiter_lines():  # read to the end before the next reply starts
            if arrived is None and line.startswith("data: {") and '"data":' in line:
                arrived = time.perf_counter()
    if arrived is None:
        raise RuntimeError(f"reply {index} had no audio")
    return arrived


def server_cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


async def measure(voice: str, replies: list[str], pacing_s: float, workdir: Path) -> tuple[list[float], float]:
    """(first-audio latencies in ms, server CPU seconds) for `replies` spoken by a server with `voice`."""
    upstream = TextUpstream(replies, pacing_s)
    port = free_port()
    config = uvicorn.Config(upstream.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    mock = uvicorn.Server(config)
    serving = asyncio.create_task(mock.serve())
    server = await asyncio.to_thread(Server, voice, free_port(), workdir, f"http://127.0.0.1:{port}/v1")
    try:
        await first_audio_at(server.url, 0)  # warm-up: connections, first synthesis
        cpu = server_cpu_s(server.proc.pid)
        latencies = []
        for index in range(1, len(replies)):
            arrived = await first_audio_at(server.url, index)
            latencies.append((arrived - upstream.ended[index]) * 1000)
        return latencies, server_cpu_s(server.proc.pid) - cpu
    finally:
        await asyncio.to_thread(server.close)
        mock.should_exit = True
        await serving
