# ruff: noqa: RUF001 - a Chinese example in a docstring
"""The embedded model: llama.cpp (llama-cpp-python) running a GGUF from the catalog (`local_catalog`),
by default Qwen2.5-Coder-0.5B-Instruct, or any GGUF by path.

Loaded once at start-up. Generation runs on one worker thread (a llama.cpp context is not
thread-safe); requests wait their turn in FIFO order (an `asyncio.Lock` wakes waiters in order) and
are refused with 503 beyond `max_queue` waiters. Events reach the event loop through
`call_soon_threadsafe`; a cancelled stream sets a flag the worker checks at every token, and the lock
is released only when the worker has really stopped.

What a voice caller gets from it: a voice-style system prompt when the caller sends none, sampling
that keeps a small model on track (`Sampling`), a guard that ends loops and over-long answers with
`finish_reason: "stop"` (`local_guard`), the prompt prefix kept across turns (the context keeps the
last prompt's KV cache and llama-cpp-python evaluates only the tokens after the common prefix: the
system prompt and earlier turns of a conversation are read once; `LlamaRAMCache`, which also keeps
other conversations, was measured and dropped: RSS 963 → 2 912 MB and decoding 15 → 9 tokens/s), and
OpenAI tool calls parsed from the model's `<tool_call>` output when its template supports tools
(`local_tools`). When it does not, a request's `tools` are ignored (logged) and the answer is plain text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from convoai_llm.errors import ConvoError, RequestError, Unavailable
from convoai_llm.events import Event, Finish, FinishReason, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.providers.base import TOOLS_IGNORED_HEADER, ProviderRequest, Traits
from convoai_llm.providers.local_budget import PromptBudget
from convoai_llm.providers.local_catalog import default_cache_dir, materialize, spec_for
from convoai_llm.providers.local_guard import DegenerationGuard, GuardLimits
from convoai_llm.providers.local_prompt import VOICE_PROMPTS, is_grounded, to_chat, with_voice_prompt
from convoai_llm.providers.local_tools import ToolCallParser
from convoai_llm.settings import Settings
from convoai_llm.text import language_of, last_user_text

log = logging.getLogger("convoai_llm.local")
_END = object()
_PASSED_THROUGH = ("top_p", "seed", "presence_penalty", "frequency_penalty", "stop")


@dataclass(frozen=True, slots=True)
class Sampling:
    """Defaults for what the caller leaves unset, tuned on the bench set (`bench/brain_bench.py`)."""

    temperature: float = 0.2
    grounded_temperature: float = 0.0
    """For a knowledge-base turn: greedy. At 0.2, "周日几点开门？" was answered "周日休息。" (Central's
    line, not Northgate's hours) in 1 run of 3; at 0, right each time, and RAG 10/11 + 11/11 either way."""
    top_p: float = 0.9
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 256


@dataclass(frozen=True, slots=True)
class LocalConfig:
    """Everything the provider reads from the settings (one place, for the settings groups to come)."""

    model: str
    model_path: Path | None
    model_id: str | None
    n_ctx: int
    n_threads: int | None
    max_queue: int
    sampling: Sampling
    cache_dir: Path = field(default_factory=default_cache_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalConfig:
        s = settings.local
        return cls(
            model=s.model, model_path=s.model_path, model_id=s.model_name, n_ctx=s.n_ctx, n_threads=s.n_threads,
            max_queue=s.max_queue, sampling=Sampling(temperature=s.temperature, max_tokens=s.max_tokens),
        )  # fmt: skip


def find_default_model() -> Path | None:
    """The default catalog model's GGUF when its packages are installed (assembled and verified)."""
    from convoai_llm.providers.local_catalog import DEFAULT_MODEL, installed

    spec = spec_for(DEFAULT_MODEL)
    return materialize(spec, default_cache_dir()) if installed(spec) else None


class LocalProvider:
    name: ClassVar[str] = "local"
    prompt_budget: ClassVar[PromptBudget] = PromptBudget()
    """Retrieval limits for this model (see `PromptBudget`); the core's RAG stage should apply them."""
    tools_header: ClassVar[tuple[str, str]] = TOOLS_IGNORED_HEADER
    """The response header the core should set when `tools_ignored(request)` is true."""

    def __init__(self, settings: Settings) -> None:
        self.config = LocalConfig.from_settings(settings)
        path = self.config.model_path
        self.model_id = self.config.model_id or (path.stem.lower() if path else self.config.model)
        self.supports_tools = False
        self._llama: Any = None
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    def _resolve(self) -> Path:
        if self.config.model_path is not None:
            if not self.config.model_path.is_file():
                raise Unavailable("CONVOAI_LOCAL_MODEL_PATH is not a file.")
            return self.config.model_path
        return materialize(spec_for(self.config.model), self.config.cache_dir)

    def load(self) -> None:
        """Blocking: verify and load the GGUF, then warm the prompt cache (call from a thread at start-up).
        Loading an already loaded provider does nothing."""
        if self._llama is not None:
            return
        path = self._resolve()
        try:
            from llama_cpp import Llama
        except ImportError:
            raise Unavailable("llama-cpp-python is not installed (make setup installs it).") from None
        # One thread for decoding and for prompt reading unless configured: llama-cpp-python's own default
        # reads prompts on every core, and its threads spin-wait on a busy machine (83 prompt tokens at
        # load ~9: 1.2 CPU s on one thread, 3.5-6 CPU s and 3x the wall time on two; bench/brain_bench.py)
        threads = self.config.n_threads or 1
        llama: Any = Llama(
            model_path=str(path), n_ctx=self.config.n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
        )
        template = str(llama.metadata.get("tokenizer.chat_template", ""))
        self.supports_tools = "tools" in template and "tool_call" in template
        # Evaluate the voice prompts once now (English last: it stays in the context), so the first caller's
        # first token does not pay for them.
        for lang in sorted(VOICE_PROMPTS, reverse=True):
            llama.create_chat_completion(with_voice_prompt([{"role": "user", "content": "Hi"}], lang), max_tokens=1)
        self._llama = llama

    def models(self) -> list[str]:
        return [self.model_id]

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    async def ready(self) -> bool:
        return self._llama is not None

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def traits(self) -> Traits:
        """What the core adapts to for this model: its passage budget and which `tools` it ignores."""
        return Traits(prompt_budget=self.prompt_budget, tools_ignored=self.tools_ignored)

    def tools_ignored(self, request: ProviderRequest) -> bool:
        """The request sent `tools` and this model cannot call them: it answers in plain text."""
        return bool(request.params.get("tools")) and not self.supports_tools

    def validate(self, request: ProviderRequest) -> None:
        if not to_chat(request.messages):
            raise RequestError("No text to answer in `messages`.", param="messages")

    def _kwargs(self, request: ProviderRequest) -> dict[str, Any]:
        p = {k: v for k, v in request.params.items() if v is not None}  # a JSON null means "unset"
        d = self.config.sampling
        use_tools = bool(p.get("tools")) and self.supports_tools and p.get("tool_choice") != "none"
        if p.get("tools") and not self.supports_tools:
            log.info("request %s: the local model %s has no tool support; answering without tools",
                     request.request_id, self.model_id)  # fmt: skip
        turns = to_chat(request.messages, tools=use_tools)
        kwargs: dict[str, Any] = {
            "messages": with_voice_prompt(turns, language_of(last_user_text(request.messages))),
            "stream": True,
            "max_tokens": min(int(p.get("max_completion_tokens") or p.get("max_tokens") or d.max_tokens), 4096),
            "temperature": p.get("temperature", d.grounded_temperature if is_grounded(turns) else d.temperature),
            "top_p": d.top_p,
            "min_p": d.min_p,
            "repeat_penalty": d.repeat_penalty,
        }
        kwargs.update({key: p[key] for key in _PASSED_THROUGH if key in p})
        if use_tools:
            kwargs["tools"] = p["tools"]
        return kwargs

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Event]:
        if self._llama is None:
            raise Unavailable("The local model is not loaded.")
        if self._waiting >= self.config.max_queue:
            raise Unavailable("The local model is busy; try again shortly.", retry_after=1)
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        kwargs = self._kwargs(request)

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        generation = Generation(self._llama, kwargs, stop, emit)
        try:
            future = loop.run_in_executor(self._executor, generation.run)
        except BaseException:
            self._lock.release()
            raise
        future.add_done_callback(lambda _: self._lock.release())
        try:
            yield Started(self.model_id)
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise ConvoError(f"The local model failed: {type(item).__name__}.")
                yield item
        finally:
            stop.set()


class Generation:
    """One completion on the worker thread: llama.cpp's stream → guarded, parsed events for the loop."""

    def __init__(self, llama: Any, kwargs: dict[str, Any], stop: threading.Event, emit: Callable[[Any], Any]) -> None:
        self.llama = llama
        self.kwargs = kwargs
        self.stop = stop
        self.emit = emit
        self.guard = DegenerationGuard(GuardLimits())
        self.parser = ToolCallParser() if kwargs.get("tools") else None
        self.pieces = 0

    def run(self) -> None:
        chunks = self.llama.create_chat_completion(**self.kwargs)
        try:
            finish = self._pump(chunks)
            self._flush()
            if self.parser is not None and self.parser.calls:
                finish = "tool_calls"
            self.emit(Usage(max(0, int(self.llama.n_tokens) - self.pieces), self.pieces))
            self.emit(Finish(finish))
        except Exception as exc:  # reported to the stream, never crashes the server
            self.emit(exc)
        finally:
            if isinstance(chunks, Generator):
                chunks.close()
            self.emit(_END)

    def _pump(self, chunks: Any) -> FinishReason:
        for chunk in chunks:
            if self.stop.is_set():
                return "stop"
            choice = chunk["choices"][0]
            text = choice.get("delta", {}).get("content")
            if text:
                self.pieces += 1
                verdict = self._text(text)
                if verdict is not None:
                    log.info("local model stopped early (%s) after %d units", verdict, self.guard.units)
                    return "stop"
            if choice.get("finish_reason") == "length":
                return "length"
        return "stop"

    def _text(self, text: str) -> str | None:
        calls: list[ToolCallDelta] = []
        if self.parser is not None:
            text, calls = self.parser.feed(text)
        for call in calls:
            self.emit(call)
        if not text:
            return None
        self.emit(TextDelta(text))
        return self.guard.feed(text)

    def _flush(self) -> None:
        if self.parser is None:
            return
        text, calls = self.parser.close()
        if text:
            self.emit(TextDelta(text))
        for call in calls:
            self.emit(call)
