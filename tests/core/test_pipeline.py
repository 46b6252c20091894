"""The core pipeline driven without FastAPI: the three request kinds, from a request to events."""

# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from convoai_llm.core.pipeline import Pipeline, collect
from convoai_llm.core.plan import Caller
from convoai_llm.core.services import Services, open_services
from convoai_llm.errors import KnowledgeBaseUnavailable
from convoai_llm.events import AudioDelta, Event, Finish, Sources, TextDelta
from convoai_llm.providers.scripted import ScriptedProvider
from convoai_llm.rag.passage import Passage
from convoai_llm.schemas.request import ChatRequest
from tests.conftest import make_settings

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup)")


class OnePassage:
    def __init__(self) -> None:
        self.queries: list[str] = []

    async def search(self, query: str, k: int | None = None) -> list[Passage]:
        self.queries.append(query)
        return [Passage("We open at nine on Sundays.", "hours.md", "Opening hours", 0.9, 1)]


def request(*messages: dict[str, Any], **fields: Any) -> ChatRequest:
    return ChatRequest.model_validate({"messages": list(messages), **fields})


async def events_of(pipeline: Pipeline, kind: Any, req: ChatRequest) -> list[Event]:
    plan = await pipeline.prepare(kind, req, Caller(request_id="t1"))
    out: list[Event] = []
    try:
        async for ev in plan.events:
            out.append(ev)
    finally:
        await plan.aclose()
    return out


async def services(provider: ScriptedProvider, searcher: Any = None, **settings: Any) -> AsyncIterator[Services]:
    async with open_services(make_settings(**settings), provider=provider, searcher=searcher) as built:
        yield built


async def test_rag_sends_the_waiting_line_then_grounds_the_answer() -> None:
    provider, searcher = ScriptedProvider(), OnePassage()
    provider.enqueue_text("Nine.")
    async for built in services(provider, searcher, kb_path="/nonexistent/kb.sqlite3"):
        req = request({"role": "user", "content": "When do you open on Sunday?"}, stream=True, rag_sources=True)
        evs = await events_of(Pipeline(built), "rag", req)
    assert isinstance(evs[0], TextDelta) and evs[0].text == "Let me check that for you. "
    assert isinstance(evs[1], Sources) and evs[1].items[0]["source"] == "hours.md"
    assert [e.text for e in evs if isinstance(e, TextDelta)][1:] == ["Nine."]
    assert searcher.queries == ["When do you open on Sunday?"]
    system = provider.history[0].messages[0]
    assert system["role"] == "system" and "We open at nine on Sundays." in system["content"]


async def test_rag_in_chinese_waits_in_chinese_and_a_failing_kb_answers_without_passages() -> None:
    class Broken:
        async def search(self, query: str, k: int | None = None) -> list[Passage]:
            raise OSError("disk gone")

    provider = ScriptedProvider()
    provider.enqueue_text("知识库里没有这方面的信息。")
    async for built in services(provider, Broken()):
        evs = await events_of(
            Pipeline(built), "rag", request({"role": "user", "content": "周日几点开门？"}, stream=True)
        )
    assert isinstance(evs[0], TextDelta) and evs[0].text == "我查一下，请稍等。"
    assert "没有找到" in provider.history[0].messages[0]["content"]  # the no-passages prompt
    assert isinstance(evs[-1], Finish)


async def test_rag_without_a_knowledge_base_is_refused_before_the_first_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("convoai_llm.core.services.open_knowledge_base", lambda settings: None)
    async for built in services(ScriptedProvider()):
        with pytest.raises(KnowledgeBaseUnavailable):
            await Pipeline(built).prepare("rag", request({"role": "user", "content": "hi"}), Caller())


async def test_chat_repeats_an_assistant_last_turn_only_when_configured() -> None:
    provider = ScriptedProvider()
    provider.enqueue_text("fresh answer")
    req = request({"role": "user", "content": "hi"}, {"role": "assistant", "content": "Welcome back!"})
    async for built in services(provider, text_assistant_last="repeat"):
        plan = await Pipeline(built).prepare("chat", req, Caller())
        assert plan.model == "repeat" and (await collect(plan)).text == "Welcome back!"
    assert provider.history == []
    async for built in services(provider):
        assert (await collect(await Pipeline(built).prepare("chat", req, Caller()))).text == "fresh answer"


async def test_custom_metadata_comes_from_the_kind_or_the_request() -> None:
    async for built in services(ScriptedProvider(), rag_custom_metadata={"interruptable": False}):
        pipeline = Pipeline(built)
        plan = await pipeline.prepare("chat", request({"role": "user", "content": "hi"}), Caller())
        assert plan.metadata is None
        await plan.aclose()
        req = request({"role": "user", "content": "hi"}, custom_metadata={"a": 1})
        plan = await pipeline.prepare("chat", req, Caller())
        assert plan.metadata is not None and plan.metadata.metadata == {"a": 1}
        await plan.aclose()


@needs_espeak
async def test_audio_speaks_the_answer_as_16k_pcm_chunks() -> None:
    provider = ScriptedProvider()
    provider.enqueue_text("Hello there. ", "We open at nine.")
    async for built in services(provider, audio_mode="live"):
        evs = await events_of(Pipeline(built), "audio", request({"role": "user", "content": "hours?"}, stream=True))
    audio = [e for e in evs if isinstance(e, AudioDelta)]
    transcripts = "".join(e.transcript or "" for e in audio)
    assert "We open at nine." in transcripts
    data = [e.data for e in audio if e.data]
    assert data and all(len(d) == 1708 for d in data[:-1])  # base64 of 1 280 bytes: 40 ms of 16 kHz PCM16
    assert not any(isinstance(e, TextDelta) for e in evs)  # no text unless `modalities` asks for it


@needs_espeak
async def test_audio_speaks_an_assistant_last_turn_without_the_model() -> None:
    provider = ScriptedProvider()
    req = request({"role": "user", "content": "hi"}, {"role": "assistant", "content": "Welcome!"}, stream=True)
    async for built in services(provider):
        plan = await Pipeline(built).prepare("audio", req, Caller(request_id="audio_x"))
        assert plan.model == "speak"
        await plan.aclose()
    assert provider.history == []


async def test_a_model_that_cannot_call_tools_says_so_in_a_header() -> None:
    import dataclasses

    from convoai_llm.providers.base import Traits

    req = request({"role": "user", "content": "weather?"}, tools=[{"type": "function", "function": {"name": "w"}}])
    async for built in services(ScriptedProvider()):
        plan = await Pipeline(built).prepare("chat", req, Caller())
        assert plan.headers == {}
        await plan.aclose()
        blind = dataclasses.replace(built, traits=Traits(tools_ignored=lambda preq: bool(preq.params.get("tools"))))
        plan = await Pipeline(blind).prepare("chat", req, Caller())
        assert plan.headers == {"x-convoai-tools": "ignored"}
        await plan.aclose()


async def test_the_local_models_budget_keeps_the_best_passages_for_the_prompt() -> None:
    from convoai_llm.core.retrieval import Retrieval
    from convoai_llm.providers.base import ProviderRequest
    from convoai_llm.providers.local_budget import PromptBudget

    class Three:
        async def search(self, query: str, k: int | None = None) -> list[Passage]:
            return [Passage(f"Passage {i} opens at nine on Sundays.", f"d{i}.md", f"D{i}", s, i)
                    for i, s in enumerate((0.2, 0.9, 0.5))]  # fmt: skip

    settings = make_settings().rag
    preq = ProviderRequest("m", [{"role": "user", "content": "When do you open on Sunday?"}])
    whole, _ = await Retrieval(Three(), settings).rewrite(preq, False)
    budgeted, _ = await Retrieval(Three(), settings, PromptBudget(max_passages=2)).rewrite(preq, False)
    assert all(f"Passage {i}" in whole.messages[0]["content"] for i in range(3))
    kept = budgeted.messages[0]["content"]  # the local model's prompt: the passages just before the question
    assert "Passage 1" in kept and "Passage 2" in kept and "Passage 0" not in kept  # the two best, by score
    assert budgeted.messages[1] == preq.messages[0]


async def test_a_provider_passed_in_keeps_the_traits_passed_with_it() -> None:
    from convoai_llm.providers.base import Traits
    from convoai_llm.providers.local_budget import PromptBudget

    budget = PromptBudget(max_passages=1)
    given = Traits(prompt_budget=budget)
    settings = make_settings(kb_path="/nonexistent/kb.sqlite3")
    async with open_services(settings, provider=ScriptedProvider(), traits=given, searcher=OnePassage()) as built:
        assert built.traits is given
        assert built.retrieval is not None
        assert built.retrieval.budget is budget
    async with open_services(settings, provider=ScriptedProvider(), searcher=OnePassage()) as plain:
        assert plain.traits.prompt_budget is None
