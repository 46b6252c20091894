"""Events → the Responses event stream and Response object, every event checked against OpenAI's spec."""

from __future__ import annotations

import orjson

from convoai_llm.errors import UpstreamTimeout
from convoai_llm.events import AudioDelta, Finish, Metadata, Sources, Started, TextDelta, ToolCallDelta, Usage
from convoai_llm.schemas.responses import parse_responses_request
from convoai_llm.sse.responses import ResponsesEncoder
from tests.surface.wire import check_response, responses_events

ECHO = parse_responses_request(b'{"input": "hi", "instructions": "Be brief.", "temperature": 0.2}').echo()


def run(events: list[object], *, fail: Exception | None = None) -> tuple[ResponsesEncoder, bytes]:
    enc = ResponsesEncoder("m-1", ECHO)
    out = enc.open()
    for ev in events:
        out += enc.encode(ev)  # type: ignore[arg-type]
    out += enc.fail(fail.envelope()) if isinstance(fail, UpstreamTimeout) else enc.close()
    return enc, out


def test_text_stream_follows_openai_order() -> None:
    enc, raw = run([Started("m-1"), Metadata({"x": 1}), TextDelta("Hel"), TextDelta(""), TextDelta("lo."),
                    AudioDelta("a", transcript="ignored"), Finish("stop"), Usage(7, 3)])  # fmt: skip
    events = responses_events(raw)
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []
    item_id = events[2]["item"]["id"]
    assert item_id.startswith("msg_")
    assert {e["item_id"] for e in events[3:8]} == {item_id}
    assert events[8]["item"]["id"] == item_id
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["Hel", "lo."]
    assert events[6]["text"] == "Hello."
    assert events[8]["item"]["status"] == "completed"
    done = events[-1]["response"]
    assert done["id"] == enc.id
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "Hello."
    assert done["usage"]["input_tokens"] == 7
    assert done["usage"]["output_tokens"] == 3
    assert done["usage"]["total_tokens"] == 10
    assert done["instructions"] == "Be brief."
    assert done["temperature"] == 0.2
    assert check_response(done).output_text == "Hello."


def test_text_then_tool_calls_become_items_with_argument_deltas() -> None:
    _, raw = run([
        Started("m-1"), TextDelta("Let me look."),
        ToolCallDelta(0, "call_9", "function", "lookup", ""), ToolCallDelta(0, arguments='{"q": '),
        ToolCallDelta(0, arguments="1}"), ToolCallDelta(1, "call_10", "function", "clock", "{}"),
        Finish("tool_calls"), Usage(5, 4),
    ])  # fmt: skip
    events = responses_events(raw)
    kinds = [e["type"] for e in events]
    assert kinds.index("response.output_item.done") < kinds.index("response.function_call_arguments.delta")
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [a["item"]["type"] for a in added] == ["message", "function_call", "function_call"]
    assert [a["output_index"] for a in added] == [0, 1, 2]
    assert added[1]["item"]["call_id"] == "call_9"
    assert added[1]["item"]["name"] == "lookup"
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert deltas == ['{"q": ', "1}", "{}"]
    args_done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [(e["name"], e["arguments"], e["output_index"]) for e in args_done] == [
        ("lookup", '{"q": 1}', 1), ("clock", "{}", 2)]  # fmt: skip
    final = check_response(events[-1]["response"])
    assert final.status == "completed"
    calls = [o for o in final.output if o.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("call_9", "lookup", '{"q": 1}'), ("call_10", "clock", "{}")]  # fmt: skip


def test_text_after_a_tool_call_opens_a_new_message() -> None:
    _, raw = run([Started("m"), ToolCallDelta(0, "c", "function", "f", "{}"), TextDelta("Done."), Finish("stop")])
    events = responses_events(raw)
    final = events[-1]["response"]["output"]
    assert [o["type"] for o in final] == ["function_call", "message"]
    assert final[1]["content"][0]["text"] == "Done."


def test_length_finish_is_an_incomplete_response() -> None:
    _, raw = run([Started("m"), TextDelta("Once upon"), Finish("length")])
    events = responses_events(raw)
    assert events[-1]["type"] == "response.incomplete"
    final = check_response(events[-1]["response"])
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"
    assert events[-1]["response"]["completed_at"] is None


def test_error_mid_stream_is_an_error_event_then_response_failed() -> None:
    exc = UpstreamTimeout("The upstream stream stalled for 2 s.")
    _, raw = run([Started("m"), TextDelta("Part")], fail=exc)
    events = responses_events(raw)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["message"] == "The upstream stream stalled for 2 s."
    assert events[-2]["code"] == "upstream_timeout"
    failed = check_response(events[-1]["response"])
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "server_error"
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_non_stream_body_is_the_last_events_response() -> None:
    enc = ResponsesEncoder("m-2", ECHO, response_id="resp_fixed", created_at=1700000000)
    for ev in [Started("m-2"), TextDelta("Hi "), TextDelta("there."), Sources(({"title": "T", "source": "a.md"},)),
               Finish("stop"), Usage(2, 2)]:  # fmt: skip
        enc.encode(ev)
    body = enc.body()
    resp = check_response(orjson.loads(orjson.dumps(body)))
    assert (resp.id, resp.model, resp.created_at, resp.status) == ("resp_fixed", "m-2", 1700000000, "completed")
    assert resp.output_text == "Hi there."
    assert body["x_convoai"] == {"sources": [{"title": "T", "source": "a.md"}]}
    assert body["usage"]["total_tokens"] == 4


def test_no_output_at_all_still_completes_validly() -> None:
    _, raw = run([Started("m"), Finish("stop")])
    events = responses_events(raw)
    assert [e["type"] for e in events] == ["response.created", "response.in_progress", "response.completed"]
    assert events[-1]["response"]["output"] == []
