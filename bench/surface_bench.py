"""CPU and bytes per streamed text delta for each wire format: chat chunks, Responses events, legacy
completions. `.venv/bin/python bench/surface_bench.py [--deltas 20000 --rounds 5]`

Pure encoding (no sockets): the part of a stream's cost that depends on the wire format. Each round
encodes one stream of N deltas (plus open, finish, usage, close) and reports the best of the rounds'
µs per delta, so other load on the machine inflates the figures as little as possible.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from convoai_llm.events import Finish, TextDelta, Usage
from convoai_llm.schemas.responses import parse_responses_request
from convoai_llm.sse.completions import CompletionEncoder
from convoai_llm.sse.encoder import DONE, ChunkEncoder
from convoai_llm.sse.responses import ResponsesEncoder

WORDS = [TextDelta(f" word{i % 50}") for i in range(64)]


def chat(n: int) -> int:
    enc = ChunkEncoder("m")
    size = len(enc.role())
    for i in range(n):
        size += len(enc.text(WORDS[i % 64]))
    return size + len(enc.finish(Finish("stop"))) + len(enc.usage(Usage(10, n))) + len(DONE)


def responses(n: int) -> int:
    enc = ResponsesEncoder("m", parse_responses_request(b'{"input": "hi"}').echo())
    size = len(enc.open())
    for i in range(n):
        size += len(enc.encode(WORDS[i % 64]))
    enc.encode(Finish("stop"))
    enc.encode(Usage(10, n))
    return size + len(enc.close())


def completions(n: int) -> int:
    enc = CompletionEncoder("m", include_usage=True)
    size = len(enc.open())
    for i in range(n):
        size += len(enc.encode(WORDS[i % 64]))
    size += len(enc.encode(Finish("stop")))
    enc.encode(Usage(10, n))
    return size + len(enc.end()) + len(enc.done())


def measure(fn: Callable[[int], int], n: int, rounds: int) -> tuple[float, float]:
    best = float("inf")
    size = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        size = fn(n)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6, size / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--deltas", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"{'wire format':<20} {'µs/delta':>9} {'bytes/delta':>12}")
    for name, fn in (("chat chunks", chat), ("responses events", responses), ("legacy completions", completions)):
        us, size = measure(fn, args.deltas, args.rounds)
        print(f"{name:<20} {us:>9.2f} {size:>12.1f}")


if __name__ == "__main__":
    main()
