"""The Chat Completions request as we accept it.

Inputs are validated strictly where we use them and permissive elsewhere: unknown fields (the
engine's `turn_id`, `timestamp`, `metadata`, `context`, custom `params`…) are accepted and ignored.
Only the fields the OpenAI API knows are forwarded upstream.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from convoai_llm.errors import RequestError
from convoai_llm.schemas.body import load_object

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]

# Top-level OpenAI request fields passed to an OpenAI-compatible upstream as the caller sent them.
# Not `modalities` or `audio`: this server makes the speech itself, so the upstream always gets a text
# request (a text model at OpenAI answers 400 to `modalities: ["audio"]`).
FORWARDED_FIELDS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n", "seed",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "reasoning_effort",
        "service_tier", "prediction", "store", "metadata", "verbosity",
        "web_search_options", "safety_identifier", "prompt_cache_key",
    }
)  # fmt: skip
MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id")
# The message keys OpenAI defines, by role (its spec's `ChatCompletionRequest…Message` schemas).
_NAMED_ROLES = frozenset({"system", "developer", "user", "assistant", "function"})
# Fields OpenAI accepts only next to a non-empty `tools`.
_TOOLS_ONLY = ("tool_choice", "parallel_tool_calls")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class AssistantAudio(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    transcript: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    audio: AssistantAudio | None = None

    @model_validator(mode="after")
    def _check(self) -> Message:
        if self.role == "assistant":
            if self.content is None and self.audio is not None and self.audio.transcript is not None:
                self.content = self.audio.transcript
            if self.content is None and not self.tool_calls:
                raise ValueError("an assistant message needs `content`, `tool_calls` or `audio.transcript`")
        elif self.role == "tool":
            if self.tool_call_id is None:
                raise ValueError("a tool message needs `tool_call_id`")
        elif self.content is None:
            raise ValueError(f"a {self.role} message needs `content`")
        return self

    def text(self) -> str:
        """The message's text: a string, or its text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")

    def to_upstream(self) -> dict[str, Any]:
        """Only what the OpenAI API accepts in a message of this role: `name` where the role has one,
        `tool_calls` (non-empty) on assistant turns, `tool_call_id` and a non-null `content` on tool turns;
        never the engine's `turn_id`, `timestamp`, `metadata` or `audio`."""
        out: dict[str, Any] = {"role": self.role, "content": _upstream_content(self.content)}
        if self.name is not None and self.role in _NAMED_ROLES:
            out["name"] = self.name
        if self.role == "assistant" and self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.role == "tool":
            out["tool_call_id"] = self.tool_call_id
            if out["content"] is None:
                out["content"] = ""
        return out


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    model: str = ""
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | list[str] | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    audio: dict[str, Any] | None = None
    user: str | None = None
    _brackets: int | None = PrivateAttr(default=None)

    @property
    def nesting_bound(self) -> int | None:
        """At most how many levels the request's lists and dicts nest: the number of `[` and `{` in the body
        it was parsed from (strings included, so never less); None when it was not parsed from bytes."""
        return self._brackets

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def forwarded_params(self) -> dict[str, Any]:
        """The OpenAI fields the caller set, as sent, for an OpenAI-compatible upstream; never what OpenAI
        rejects or what this server answers itself: no null values (an explicit `"temperature": null`
        means "the default"), no empty `tools` or `stop` list, no `tool_choice`/`parallel_tool_calls`
        without tools, no `modalities`/`audio`. The forwarded fields this model declares hold plain JSON
        values (numbers, strings, lists, dicts), so they are passed as validated, without a `model_dump`."""
        params = {k: getattr(self, k) for k in self.model_fields_set if k in FORWARDED_FIELDS}
        params.update({k: v for k, v in (self.model_extra or {}).items() if k in FORWARDED_FIELDS})
        return _sendable(params)


def _upstream_content(content: str | list[ContentPart] | None) -> str | list[dict[str, Any]] | None:
    if isinstance(content, list):
        return [p.model_dump(exclude_none=True) for p in content]
    return content


def _sendable(params: dict[str, Any]) -> dict[str, Any]:
    """`params` without what OpenAI would reject: nulls, empty lists, tool options without tools."""
    out = {k: v for k, v in params.items() if v is not None and v != []}
    if not out.get("tools"):
        for key in _TOOLS_ONLY:
            out.pop(key, None)
    return out


def _param(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before")) or part in {"str", "list[ContentPart]"}:
            continue
        else:
            out += f".{part}" if out else part
    return out


def parse_chat_request(body: bytes) -> ChatRequest:
    """Bytes → a validated request, or a `RequestError` naming the offending `param`."""
    data = load_object(body)
    try:
        req = ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = _param(tuple(first["loc"])) or None
        msg = first["msg"]
        if first["type"] == "missing":
            msg = "Missing required parameter"
        raise RequestError(f"Invalid request: {msg} ('{param}').", param=param) from None
    req._brackets = body.count(b"[") + body.count(b"{")
    return req
