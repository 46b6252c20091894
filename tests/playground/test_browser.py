"""The playground page end to end in headless Chromium against a real server on loopback.

Scripted provider with paced text, so streaming is visible; audio from the sample clips (and live
espeak-ng speech when installed). Screenshots of each step go to tests/artifacts/.
"""

from __future__ import annotations

import base64
import importlib.util
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convoai_llm.providers.scripted import ScriptedProvider
from convoai_llm.rag.passage import Passage
from tests.conftest import ServeFn
from tests.playground.browser import CHROMIUM, CHROMIUM_ARGS, OBSERVE, screenshot, skip_reason

_reason = skip_reason()
pytestmark = pytest.mark.skipif(_reason is not None, reason=_reason or "")
ROOT = Path(__file__).resolve().parents[2]
AUDIO_DIR = ROOT / "examples" / "audio"
EXAMPLES = ROOT / "examples" / "knowledge"
KEY = "playground-key-42"


class SlowSearcher:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.queries: list[str] = []

    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        import asyncio

        self.queries.append(query)
        await asyncio.sleep(self.delay)
        return [Passage("The Aurora Pro costs 49 euros a month.", "pricing.md", "Pricing", 0.9, 1)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """`open_page(url)`: a fresh page on the playground; fails the test if it requests another origin."""
    contexts: list[Any] = []
    foreign: list[str] = []

    def _open(url: str) -> Any:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else foreign.append(r.url))
        page.goto(url + "/")
        page.evaluate(OBSERVE)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert foreign == [], f"the page made requests outside its server: {foreign}"


def ask(page: Any, text: str, endpoint: str = "chat") -> None:
    label = {"chat": "Chat", "rag": "RAG", "audio": "Audio"}[endpoint]
    page.get_by_role("radio", name=re.compile(rf"^{label}\s")).check()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    page.wait_for_function("() => window.__playground.lastTurn && window.__playground.lastTurn.done")


def seen(page: Any) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = page.evaluate("() => window.__seen")
    return states


def test_chat_streams_token_by_token_and_keeps_the_conversation(serve: ServeFn, open_page: Any) -> None:
    scripted = ScriptedProvider(model="scripted-model")
    pieces = ["Hello", " there,", " this", " answer", " streams", " in."]
    scripted.enqueue_text(*pieces, delay=0.2)
    scripted.enqueue_text("Second", " answer.", delay=0.05)
    server = serve(provider=scripted)
    page = open_page(server.url)
    page.wait_for_function("() => document.getElementById('model').options.length > 0")
    assert page.locator("#model").input_value() == "scripted-model"

    ask(page, "Hi, how are you?")
    answers = [s["answer"] for s in seen(page) if s["answer"]]
    final = "".join(pieces)
    assert answers[-1] == final
    assert len(answers) >= 4, f"the answer did not stream: {answers}"
    assert all(final.startswith(a) for a in answers)
    times = [s["t"] for s in seen(page) if s["answer"]]
    assert times[-1] - times[0] > 500, "all text arrived at once"  # ms: 5 gaps of 200 ms
    turn = page.evaluate("() => window.__playground.lastTurn")
    assert turn["finish"] == "stop" and 150 < turn["ttft"] < turn["total"]
    assert "first token" in page.locator(".turn .timing").first.text_content()
    screenshot(page, "1-chat")

    ask(page, "And then?")
    asked = scripted.history[-1].messages
    assert [m["role"] for m in asked] == ["user", "assistant", "user"]
    assert asked[1]["content"] == final and asked[2]["content"] == "And then?"
    assert page.locator(".turn .answer").nth(1).text_content() == "Second answer."
    page.get_by_role("button", name="New conversation").click()
    assert page.locator(".turn").count() == 0


def test_stop_hangs_up_the_stream(serve: ServeFn, open_page: Any) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue_text(*[f"word{i} " for i in range(100)], delay=0.1)
    server = serve(provider=scripted)
    page = open_page(server.url)
    page.get_by_label("Message", exact=True).fill("Tell me a long story")
    page.get_by_role("button", name="Send").click()
    page.locator(".turn .answer").filter(has_text="word2").wait_for()
    page.get_by_role("button", name="Stop").click()
    page.locator(".turn .error").filter(has_text="Stopped.").wait_for()
    page.wait_for_function("() => window.__playground.lastTurn.done")
    deadline = time.monotonic() + 3
    while scripted.closed == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert scripted.closed == 1, "the server did not see the hang-up"
    assert len(page.locator(".turn .answer").text_content().split()) < 50
    assert page.get_by_role("button", name="Send").is_enabled()


def test_rag_shows_waiting_message_then_answer_and_sources(serve: ServeFn, open_page: Any) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue_text("The Aurora Pro", " costs 49 euros", " a month.", delay=0.1)
    searcher = SlowSearcher(0.8)
    server = serve(provider=scripted, searcher=searcher)
    page = open_page(server.url)
    ask(page, "How much is the Pro?", "rag")
    states = seen(page)
    waiting = next(i for i, s in enumerate(states) if s["waiting"])
    assert states[waiting]["waiting"] == "Let me check that for you."
    assert states[waiting]["answer"] == ""  # the waiting message came first, alone
    answered = next(i for i, s in enumerate(states) if s["answer"])
    assert states[answered]["t"] - states[waiting]["t"] > 600  # retrieval (0.8 s) sat between them
    assert states[-1]["answer"] == "The Aurora Pro costs 49 euros a month."
    turn = page.evaluate("() => window.__playground.lastTurn")
    assert turn["firstAnswer"] - turn["ttft"] > 600  # first token = the waiting message, before retrieval
    assert "first answer token" in page.locator(".timing").text_content()
    sources = page.locator(".turn .sources li")
    sources.first.wait_for()
    assert "Pricing — pricing.md" in sources.first.text_content()
    assert searcher.queries == ["How much is the Pro?", "How much is the Pro?"]  # retrieval, then the page
    # the waiting message is not part of the conversation sent back next turn
    ask(page, "Thanks", "chat")
    answer = "The Aurora Pro costs 49 euros a month."
    assert scripted.history[-1].messages[1] == {"role": "assistant", "content": answer}
    page.locator(".turn").first.scroll_into_view_if_needed()
    screenshot(page, "2-rag")


def test_audio_clip_chunks_are_scheduled_back_to_back(serve: ServeFn, open_page: Any) -> None:
    server = serve(
        provider=ScriptedProvider(), audio_dir=AUDIO_DIR, audio_realtime=False
    )  # unpaced: no timing flake on a busy machine
    page = open_page(server.url)
    ask(page, "Hi there", "audio")
    pg = page.evaluate("() => window.__playground")
    pcm = (AUDIO_DIR / "default.pcm").read_bytes()
    assert pg["audioBytes"] == len(pcm) and pg["audioChunks"] == -(-len(pcm) // 1280)
    assert pg["scheduled"] == pg["audioChunks"]
    assert abs(pg["scheduledSeconds"] - len(pcm) / 32000) < 0.01  # 16 kHz, 2 bytes a sample
    turn = pg["lastTurn"]
    assert turn["underruns"] == 0 and turn["ttft"] <= turn["ttfa"] < turn["total"]
    assert pg["audioState"] in ("running", "suspended")
    assert page.locator(".turn .answer").text_content() == "Hello from convoai-llm."
    assert "first audio" in page.locator(".timing").text_content()
    assert "audio chunks" in page.locator(".audio-info").text_content()
    screenshot(page, "3-audio")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_audio_live_speech_plays_as_it_arrives(serve: ServeFn, open_page: Any) -> None:
    scripted = ScriptedProvider()
    scripted.enqueue_text("The first sentence is here. ", "The second one came later.", delay=0.6)
    server = serve(provider=scripted, audio_mode="live")
    page = open_page(server.url)
    ask(page, "Talk to me", "audio")
    pg = page.evaluate("() => window.__playground")
    assert pg["audioChunks"] > 20 and pg["scheduled"] == pg["audioChunks"]
    assert pg["scheduledSeconds"] > 1.5
    turn = pg["lastTurn"]
    assert turn["ttfa"] < turn["total"] - 300, "the first audio waited for the whole answer"
    spoken = "The first sentence is here. The second one came later."
    assert page.locator(".turn .answer").text_content().split() == spoken.split(" ")


def test_tour_with_api_key_real_kb_and_phone_layout(serve: ServeFn, open_page: Any, tmp_path: Path) -> None:
    """Auth on: the key typed in the page (memory only) unlocks models, chat, RAG with the real KB, audio, KB panel."""
    db = tmp_path / "kb.sqlite3"
    real_kb = importlib.util.find_spec("onnxruntime") is not None
    if real_kb:
        from convoai_llm.rag.seed import seed_if_empty

        seed_if_empty(db, EXAMPLES)
    scripted = ScriptedProvider()
    scripted.enqueue_text("Hello! Ask me about bikes,", " prices or opening hours.", delay=0.05)
    scripted.enqueue_text("Service centres are open", " from 10 to 4 on Sundays.", delay=0.05)
    server = serve(provider=scripted, api_keys=KEY, kb_path=db, audio_dir=AUDIO_DIR,
                   searcher=None if real_kb else SlowSearcher(0.0))  # fmt: skip
    page = open_page(server.url)
    page.locator("#model-status").filter(has_text="API key").wait_for()
    page.get_by_label("API key", exact=True).fill(KEY)
    page.get_by_label("API key", exact=True).dispatch_event("change")
    page.wait_for_function("() => document.getElementById('model').options.length > 0")
    ask(page, "Hello!")
    assert page.locator(".turn .answer").first.text_content() == "Hello! Ask me about bikes, prices or opening hours."
    assert scripted.history[-1].caller_token == KEY
    assert page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]

    ask(page, "When are you open on Sunday?", "rag")
    page.locator(".turn").nth(1).locator(".sources li").first.wait_for()
    sources = page.locator(".turn").nth(1).locator(".sources").text_content()
    assert ("opening-hours.md" if real_kb else "pricing.md") in sources
    ask(page, "Hi there", "audio")
    assert page.evaluate("() => window.__playground.lastTurn.scheduled") > 0

    page.get_by_role("button", name="List documents").click()
    if real_kb:
        page.locator("#kb-docs li").filter(has_text="opening-hours.md").wait_for()
        page.get_by_label("Search", exact=True).fill("opening hours on Sunday")
        page.locator("#kb-search button").click()
        page.locator("#kb-results li").first.wait_for()
        assert "opening-hours.md" in page.locator("#kb-results").text_content()
    else:
        page.locator("#kb-status").filter(has_text="empty").wait_for()
    screenshot(page, "4-tour", docs=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider than the screen
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    chat_box, kb_box = page.locator(".chat").bounding_box(), page.locator(".kb").bounding_box()
    assert kb_box["y"] >= chat_box["y"] + chat_box["height"] and chat_box["width"] > 350
    screenshot(page, "5-phone")
    page.reload()  # memory only: the key is gone after a reload
    assert page.get_by_label("API key", exact=True).input_value() == ""
    page.locator("#model-status").filter(has_text="API key").wait_for()


def test_pcm_decoding_matches_python(serve: ServeFn, open_page: Any) -> None:
    server = serve(provider=ScriptedProvider())
    page = open_page(server.url)
    samples = [0, 1, -1, 32767, -32768, 1234, -4321]
    raw = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    decoded = page.evaluate(
        """(b64) => { const bin = atob(b64); const out = [];
            for (let i = 0; i < bin.length >> 1; i++) { let v = bin.charCodeAt(2*i) | (bin.charCodeAt(2*i+1) << 8);
              if (v >= 0x8000) v -= 0x10000; out.push(v); } return out; }""",
        base64.b64encode(raw).decode(),
    )
    assert decoded == samples
