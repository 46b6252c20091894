"""Voice: provider events in, the engine's audio events out — ordered, pipelined, cancellable.

`speak` reads the provider's events in a producer task. Text goes through the sentence segmenter; each
completed sentence starts its synthesis at once (at most `concurrency` TTS processes per reply, at most
`max_ahead` sentences ahead of what has been sent), so sentence 1 is spoken while sentence 2 is generated.
A sentence-ending mark is normally confirmed by the next character (is "3." followed by "5"?); when
the provider pauses for `settle_ms` right after one, the segmenter settles and the sentence goes to the
TTS without waiting — after `settle_weak_ms` instead when the mark is a "." glued to a word, which may
still be ``example.com`` or ``Node.js``. The segmenter also cuts at clause breaks and at a length bound, so a
reply without a full stop is still spoken as it streams.

Each sentence (or clause) becomes its transcript first (:func:`.speakable.transcript`: the text as
spoken — markdown and emoji removed), and the TTS gets that transcript; a `VoiceSet` then speaks each
script run in its own voice. The consumer (this async generator) keeps the order of everything:

- per-sentence mode (default): ``AudioDelta(transcript=sentence)`` as soon as the sentence is
  complete and everything before it has been sent, then that sentence's ``AudioDelta(data=…)``.
  Transcripts keep their leading whitespace, so they concatenate to the reply as spoken; a sentence
  with nothing left to speak (only an emoji) sends neither transcript nor audio.
- `transcript_first`: ``Started``/``Metadata`` pass at once; everything else waits until the
  provider has finished (synthesis still runs meanwhile); then one ``AudioDelta(transcript=whole
  text)``, then the audio and the remaining events in order.

Audio chunks are exactly 1 280 bytes: the sub-chunk tail of a sentence (espeak-ng ends each with
~300 ms of silence) is carried into the next sentence's first chunk, and flushed, short, before
``Usage``/``Finish`` and at the end. With `words`, the first data delta carrying a sentence's
audio also carries its word times, in ms from the start of the reply's PCM.

Other events (``Started``, ``ToolCallDelta``, ``Usage``, ``Finish``, ``Metadata``) pass through
in order; ``TextDelta`` passes too only with `include_text` (``modalities: ["text","audio"]``).
On `aclose()` or cancellation, pending syntheses are cancelled (their processes killed and
reaped) and the provider's iterator is closed before the generator finishes. Sentences with
nothing to say produce a transcript and no audio: silence is never sent as speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from convoai_llm.events import AudioDelta, AudioWord, Event, Finish, Metadata, Started, TextDelta, Usage
from convoai_llm.speech import pcm
from convoai_llm.speech.clips import play_clip
from convoai_llm.speech.segmenter import Segmenter
from convoai_llm.speech.speakable import transcript
from convoai_llm.speech.tts import Synthesis, TTSEngine
from convoai_llm.speech.words import shift

__all__ = ["play_clip", "speak", "speak_text"]


@dataclass(frozen=True, slots=True)
class _Say:
    text: str
    task: asyncio.Task[Synthesis]


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _End:
    pass


_Item = Event | _Say | _Failed | _End


@dataclass
class _Chunker:
    """Cuts a reply's PCM into exact chunks across sentences; tracks the reply's PCM offset."""

    reply_id: str
    rest: bytes = b""
    offset_bytes: int = 0
    words: tuple[AudioWord, ...] | None = None  # waiting for the next data delta

    def add(self, synthesis: Synthesis, *, with_words: bool) -> list[AudioDelta]:
        if not synthesis.pcm:
            return []
        if with_words and synthesis.words:
            placed = shift(synthesis.words, round(self.offset_bytes / pcm.BYTES_PER_MS))
            self.words = placed if self.words is None else self.words + placed
        self.offset_bytes += len(synthesis.pcm)
        data = self.rest + synthesis.pcm
        whole = len(data) - len(data) % pcm.CHUNK_BYTES
        self.rest = data[whole:]
        return self._deltas(pcm.chunks(data[:whole]))

    def flush(self) -> list[AudioDelta]:
        rest, self.rest = self.rest, b""
        return self._deltas(pcm.chunks(rest))

    def _deltas(self, parts: list[bytes]) -> list[AudioDelta]:
        out = []
        for part in parts:
            out.append(AudioDelta(self.reply_id, data=pcm.b64(part), words=self.words))
            self.words = None
        return out


@dataclass
class _Producer:
    events: AsyncIterator[Event]
    tts: TTSEngine
    queue: asyncio.Queue[_Item]
    segmenter: Segmenter
    include_text: bool
    ahead: asyncio.Semaphore | None
    running: asyncio.Semaphore
    settle_s: float | None
    settle_weak_s: float | None
    tasks: list[asyncio.Task[Synthesis]] = field(default_factory=list)
    waiting: asyncio.Future[Event] | None = None

    async def run(self) -> None:
        source = aiter(self.events)
        try:
            while True:
                try:
                    event = await self._next(source)
                except StopAsyncIteration:
                    break
                if isinstance(event, TextDelta):
                    if self.include_text:
                        self.queue.put_nowait(event)
                    for sentence in self.segmenter.push(event.text):
                        await self._say(sentence)
                    continue
                if isinstance(event, Finish):
                    for sentence in self.segmenter.flush():
                        await self._say(sentence)
                self.queue.put_nowait(event)
            for sentence in self.segmenter.flush():
                await self._say(sentence)
            self.queue.put_nowait(_End())
        except Exception as exc:
            self.queue.put_nowait(_Failed(exc))
        finally:
            if self.waiting is not None and not self.waiting.done():
                self.waiting.cancel()
                with contextlib.suppress(BaseException):
                    await self.waiting
            await _close(self.events)

    async def _next(self, source: AsyncIterator[Event]) -> Event:
        """The next provider event; if a sentence end is pending and the provider pauses for
        `settle_s`, the sentence is cut without waiting for the next token."""
        if self.settle_s is None or not self.segmenter.can_settle():
            return await anext(source)
        self.waiting = asyncio.ensure_future(anext(source))
        done, _ = await asyncio.wait({self.waiting}, timeout=self.settle_s)
        guess: _Say | None = None
        if not done and self.settle_weak_s is not None and self.segmenter.weak_end():
            # "example." may go on as "example.com": synthesize what settling would cut, but commit it
            # only if the pause lasts `settle_weak_s`; otherwise drop the guess and read on.
            guess = self._speculate()
            done, _ = await asyncio.wait({self.waiting}, timeout=max(0.0, self.settle_weak_s - self.settle_s))
        if not done:
            for sentence in self.segmenter.settle():
                await self._say(sentence, guess)
        elif guess is not None and not guess.task.done():
            guess.task.cancel()
        event = await self.waiting
        self.waiting = None
        return event

    def _speculate(self) -> _Say | None:
        preview = copy.copy(self.segmenter).settle()
        said = transcript(preview[0]) if len(preview) == 1 else ""
        if not said.strip():
            return None
        task = asyncio.create_task(self._synthesize(said))
        self.tasks.append(task)
        return _Say(said, task)

    async def _say(self, sentence: str, guess: _Say | None = None) -> None:
        said = transcript(sentence)
        if not said.strip():
            return  # only markup or emoji: nothing to hear, nothing to show
        if self.ahead is not None:
            await self.ahead.acquire()
        if guess is not None and guess.text == said:
            task = guess.task
        else:
            task = asyncio.create_task(self._synthesize(said))
            self.tasks.append(task)
        self.queue.put_nowait(_Say(said, task))

    async def _synthesize(self, sentence: str) -> Synthesis:
        async with self.running:
            return await self.tts.synthesize(sentence)


async def _close(events: AsyncIterator[Event]) -> None:
    if isinstance(events, AsyncGenerator):
        with contextlib.suppress(RuntimeError):  # already running elsewhere / already closed
            await events.aclose()


async def speak(
    events: AsyncIterator[Event],
    tts: TTSEngine,
    *,
    reply_id: str,
    transcript_first: bool = False,
    words: bool = False,
    include_text: bool = False,
    segmenter: Segmenter | None = None,
    concurrency: int = 2,
    max_ahead: int = 3,
    settle_ms: float | None = 30.0,
    settle_weak_ms: float | None = 90.0,
) -> AsyncGenerator[Event, None]:
    """Speech for a provider's reply. See the module docstring for the order of events."""
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    producer = _Producer(
        events,
        tts,
        queue,
        segmenter or Segmenter(),
        include_text,
        None if transcript_first else asyncio.Semaphore(max_ahead),
        asyncio.Semaphore(concurrency),
        None if settle_ms is None else settle_ms / 1000.0,
        None if settle_weak_ms is None else settle_weak_ms / 1000.0,
    )
    runner = asyncio.create_task(producer.run())
    chunker = _Chunker(reply_id)
    try:
        order = _transcript_first if transcript_first else _in_order
        async with contextlib.aclosing(order(queue, reply_id)) as items:
            async for item in items:
                if isinstance(item, _Say):
                    synthesis = await item.task
                    if producer.ahead is not None:
                        producer.ahead.release()
                    for delta in chunker.add(synthesis, with_words=words):
                        yield delta
                else:
                    if isinstance(item, Usage | Finish):
                        for delta in chunker.flush():
                            yield delta
                    yield item
        for delta in chunker.flush():
            yield delta
    finally:
        runner.cancel()
        for task in producer.tasks:
            task.cancel()
        await asyncio.gather(runner, *producer.tasks, return_exceptions=True)
        await _close(events)


async def _in_order(queue: asyncio.Queue[_Item], reply_id: str) -> AsyncGenerator[Event | _Say, None]:
    """Queue items in order; a sentence's transcript goes out before its synthesis is awaited."""
    while True:
        item = await queue.get()
        if isinstance(item, _End):
            return
        if isinstance(item, _Failed):
            raise item.error
        if isinstance(item, _Say):
            yield AudioDelta(reply_id, transcript=item.text)
        yield item


async def _transcript_first(queue: asyncio.Queue[_Item], reply_id: str) -> AsyncGenerator[Event | _Say, None]:
    held: list[Event | _Say] = []
    while True:
        item = await queue.get()
        if isinstance(item, _End):
            break
        if isinstance(item, _Failed):
            raise item.error
        if not held and isinstance(item, Started | Metadata):
            yield item
        else:
            held.append(item)
    transcript = "".join(item.text for item in held if isinstance(item, _Say)).strip()
    if transcript:
        yield AudioDelta(reply_id, transcript=transcript)
    for item in held:
        yield item


async def speak_text(text: str, tts: TTSEngine, *, reply_id: str, words: bool = False) -> AsyncGenerator[Event, None]:
    """Speech for a known text (greeting, failure message, assistant-last turn): no provider."""

    async def source() -> AsyncIterator[Event]:
        yield TextDelta(text)

    async with contextlib.aclosing(speak(source(), tts, reply_id=reply_id, words=words)) as events:
        async for event in events:
            yield event
