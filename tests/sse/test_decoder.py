from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convoai_llm.sse.decoder import DONE, EventTooLarge, SSEDecoder


def decode_all(*chunks: bytes) -> list[str]:
    d = SSEDecoder()
    out: list[str] = []
    for c in chunks:
        out += d.feed(c)
    return out + d.flush()


def test_lf_events() -> None:
    assert decode_all(b'data: {"a":1}\n\ndata: [DONE]\n\n') == ['{"a":1}', DONE]


def test_crlf_and_cr_line_endings() -> None:
    assert decode_all(b"data: one\r\n\r\ndata: two\r\rdata: three\n\n") == ["one", "two", "three"]


def test_crlf_split_across_chunks() -> None:
    assert decode_all(b"data: one\r", b"\n\r", b"\ndata: two\r\n", b"\r\n") == ["one", "two"]


def test_comments_are_ignored() -> None:
    assert decode_all(b": keep-alive\n\n: ping\ndata: x\n\n") == ["x"]


def test_multiline_data() -> None:
    assert decode_all(b"data: first\ndata: second\n\n") == ["first\nsecond"]
    assert decode_all(b"data:nospace\n\n") == ["nospace"]


def test_other_fields_ignored_and_empty_event_not_dispatched() -> None:
    assert decode_all(b"event: message\nid: 4\nretry: 10\n\nevent: x\ndata: y\n\n") == ["y"]


def test_unterminated_final_event_is_flushed() -> None:
    assert decode_all(b"data: tail") == ["tail"]


def test_utf8_split_inside_a_character() -> None:
    raw = "data: 你好\n\n".encode()
    assert decode_all(raw[:8], raw[8:]) == ["你好"]


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))), max_size=5),
    st.data(),
)
def test_any_split_gives_the_same_events(payloads: list[str], data: st.DataObject) -> None:
    raw = b"".join(f"data: {p}\r\n\r\n".encode() for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert decode_all(*pieces) == decode_all(raw) == payloads


def test_a_line_longer_than_the_cap_raises_once_the_buffer_passes_it() -> None:
    d = SSEDecoder(max_event_bytes=1000)
    assert d.feed(b"data: ok\n\ndata: " + b"a" * 900) == ["ok"]
    with pytest.raises(EventTooLarge):
        d.feed(b"a" * 200)


def test_an_event_of_many_lines_longer_than_the_cap_raises() -> None:
    d = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(EventTooLarge):
        d.feed(b"data: " + b"b" * 400 + b"\n" + b"data: " + b"b" * 400 + b"\n" + b"data: " + b"b" * 400 + b"\n")


def test_events_up_to_the_cap_pass() -> None:
    d = SSEDecoder(max_event_bytes=1000)
    big = "c" * 1000
    assert d.feed(b"data: " + big.encode() + b"\n\n") == [big]
    assert d.feed(b"data: " + b"d" * 500 + b"\n" + b"data: " + b"d" * 500 + b"\n\n") == ["d" * 500 + "\n" + "d" * 500]


LINE = st.one_of(
    st.just(b""),
    st.just(b": keep-alive"),
    st.just(b"event: message"),
    st.builds(lambda t: b"data: " + t.encode(), st.text(alphabet='ab {}"', max_size=8)),
    st.builds(lambda t: b"data:" + t.encode(), st.text(alphabet="ab", max_size=3)),
)


@given(st.lists(LINE, max_size=12), st.data())
def test_lf_fast_path_matches_the_line_by_line_rules(lines: list[bytes], data: st.DataObject) -> None:
    """LF-only input takes the one-data-line fast path; the CRLF form of the same lines does not."""
    lf = b"".join(line + b"\n" for line in lines)
    crlf = b"".join(line + b"\r\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(lf)), max_size=4)))
    pieces = [lf[a:b] for a, b in zip([0, *cuts], [*cuts, len(lf)], strict=True)]
    assert decode_all(*pieces) == decode_all(lf) == decode_all(crlf)
