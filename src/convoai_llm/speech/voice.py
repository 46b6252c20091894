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

from convoai_llm.events import AudioDelta, Event, Finish, Metadata, Started, TextDelta, Usage
from convoai_llm.speech.chunker import Chunker
from convoai_llm.speech.clips import play_clip
from convoai_llm.speech.segmenter import Segmenter, weight
from convoai_llm.speech.speakable import transcript
from convoai_llm.speech.tts import Synthesis, TTSEngine

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
    flush_s: float | None
    tasks: list[asyncio.Task[Synthesis]] = field(default_factory=list)
    waiting: asyncio.Future[Event] | None = None
    opened_at: float | None = None  # loop time the open piece's first word arrived

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
                    cut = self.segmenter.push(event.text)
                    for sentence in cut:
                        await self._say(sentence)
                    self._track_open(restart=bool(cut))
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
        """The next provider event. While the provider pauses, a pending sentence end is settled
        (`_settle`) and a piece left open for `flush_s` is spoken up to its last word boundary."""
        settling = self.settle_s is not None and self.segmenter.can_settle()
        if not settling and self._open_left() is None:
            return await anext(source)
        self.waiting = waiting = asyncio.ensure_future(anext(source))
        if settling:
            await self._settle(waiting)
        while not waiting.done() and (left := self._open_left()) is not None:
            done, _ = await asyncio.wait({waiting}, timeout=left)
            if not done:
                for piece in self.segmenter.cut_open():
                    await self._say(piece)
                self._track_open(restart=True)  # nothing cut (one long word): wait `flush_s` again
        event = await waiting
        self.waiting = None
        return event

    async def _settle(self, waiting: asyncio.Future[Event]) -> None:
        """A sentence end is pending: if the provider pauses for `settle_s`, cut it without waiting
        for the next token."""
        assert self.settle_s is not None
        done, _ = await asyncio.wait({waiting}, timeout=self.settle_s)
        guess: _Say | None = None
        if not done and self.settle_weak_s is not None and self.segmenter.weak_end():
            # "example." may go on as "example.com": synthesize what settling would cut, but commit it
            # only if the pause lasts `settle_weak_s`; otherwise drop the guess and read on.
            guess = self._speculate()
            done, _ = await asyncio.wait({waiting}, timeout=max(0.0, self.settle_weak_s - self.settle_s))
        if not done:
            for sentence in self.segmenter.settle():
                await self._say(sentence, guess)
            self._track_open(restart=True)
        elif guess is not None and not guess.task.done():
            guess.task.cancel()

    def _open_left(self) -> float | None:
        """Seconds until the open piece reaches the time bound (None: no bound, or nothing open)."""
        if self.flush_s is None or self.opened_at is None:
            return None
        return max(0.0, self.opened_at + self.flush_s - asyncio.get_running_loop().time())

    def _track_open(self, *, restart: bool) -> None:
        """Note when the open piece started: now, if it is new or `restart` (pieces were just cut)."""
        if weight(self.segmenter.pending) == 0:
            self.opened_at = None
        elif restart or self.opened_at is None:
            self.opened_at = asyncio.get_running_loop().time()

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
    flush_after_ms: float | None = 700.0,
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
        flush_after_ms / 1000.0 if flush_after_ms else None,
    )
    runner = asyncio.create_task(producer.run())
    chunker = Chunker(reply_id)
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
