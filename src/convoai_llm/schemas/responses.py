"""The Responses API request (`POST /v1/responses`) as we accept it, mapped onto the chat request.

The pipeline takes one request type, `ChatRequest`; a Responses body becomes one:
- `instructions` → a leading `system` message; `input` (a string → one user message, or a list of
  items) → the conversation: messages (`input_text`/`output_text`/`input_image` parts), and
  `function_call` / `function_call_output` items → an assistant turn with `tool_calls` / `tool` turns;
- function `tools` and `tool_choice` → the chat forms; `max_output_tokens` → `max_tokens`;
  `text.format` → `response_format`; `reasoning.effort` → `reasoning_effort`; `temperature`, `top_p`,
  `user`, `parallel_tool_calls` as they are.
This server keeps no state: `previous_response_id`, `conversation`, item references and
`background` are refused with a 400 naming the field (send the whole conversation in `input`).
Built-in tools (web search, file search…) are refused too: only function tools run anywhere here.
Unknown fields are accepted and ignored, as on the chat routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from convoai_llm.errors import RequestError
from convoai_llm.schemas.body import load_object, request_error
from convoai_llm.schemas.request import ChatRequest

PASSED_EXTRAS = ("rag_sources", "app_id", "channel", "user_uid", "turn_id")
"""Our own top-level fields a Responses caller may send, kept on the chat request (logs, RAG sources)."""
STATELESS = {
    "previous_response_id": "This server keeps no responses: send the whole conversation in `input`.",
    "conversation": "This server keeps no conversations: send the whole conversation in `input`.",
}


class ResponsesChat(ChatRequest):
    """The chat request a Responses body becomes; it carries what the Response object repeats back."""

    _echo: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def echo(self) -> dict[str, Any]:
        return self._echo


class Part(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: str | None = None
    image_url: str | None = None
    detail: str | None = None


class Item(BaseModel):
    """One `input` item: a message (`type` "message" or omitted), a function call, or its output."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: str = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[Part] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[Part] | None = None


class Tool(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class NamedChoice(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    name: str | None = None


class TextFormat(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None


class TextConfig(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    format: TextFormat | None = None


class Reasoning(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    effort: str | None = None


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    model: str = ""
    input: str | Annotated[list[Item], Field(min_length=1)]
    instructions: str | None = None
    stream: bool | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_output_tokens: Annotated[int, Field(ge=1)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: Reasoning | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    background: bool | None = None

    def echo(self) -> dict[str, Any]:
        """The request fields a Response object repeats back."""
        return {
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "metadata": self.metadata or {},
            "parallel_tool_calls": True if self.parallel_tool_calls is None else self.parallel_tool_calls,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "tool_choice": _echo_choice(self.tool_choice),
            "tools": [_echo_tool(t) for t in self.tools or []],
            "text": {"format": (self.text.format.model_dump(by_alias=True, exclude_none=True)
                                if self.text and self.text.format else {"type": "text"})},
            "user": self.user,
        }  # fmt: skip

    def to_chat(self) -> ResponsesChat:
        """The same request as the chat request the pipeline takes."""
        body: dict[str, Any] = {"model": self.model, "messages": self._messages(), "stream": bool(self.stream)}
        if self.tools:
            body["tools"] = [_chat_tool(t, i) for i, t in enumerate(self.tools)]
        if self.tool_choice is not None:
            body["tool_choice"] = _chat_choice(self.tool_choice)
        if self.max_output_tokens is not None:
            body["max_tokens"] = self.max_output_tokens
        if self.text is not None and self.text.format is not None and self.text.format.type != "text":
            body["response_format"] = _response_format(self.text.format)
        if self.reasoning is not None and self.reasoning.effort is not None:
            body["reasoning_effort"] = self.reasoning.effort
        for name in ("temperature", "top_p", "user", "parallel_tool_calls"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        extra = self.model_extra or {}
        body.update({k: extra[k] for k in PASSED_EXTRAS if k in extra})
        try:
            chat = ResponsesChat.model_validate(body)
        except ValidationError as exc:  # an item that maps to an invalid chat turn
            first = exc.errors(include_url=False)[0]
            raise RequestError(f"Invalid request: {first['msg']}.", param="input") from None
        chat._echo = self.echo()
        return chat

    def _messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if self.instructions:
            messages.append({"role": "system", "content": self.instructions})
        if isinstance(self.input, str):
            messages.append({"role": "user", "content": self.input})
            return messages
        for i, item in enumerate(self.input):
            _add_item(messages, item, f"input[{i}]")
        return messages


def _add_item(messages: list[dict[str, Any]], item: Item, param: str) -> None:
    if item.type == "message":
        if item.role is None or item.content is None:
            raise RequestError("A message item needs `role` and `content`.", param=param)
        messages.append({"role": item.role, "content": _content(item.content, f"{param}.content")})
    elif item.type == "function_call":
        if item.call_id is None or item.name is None or item.arguments is None:
            raise RequestError("A function_call item needs `call_id`, `name` and `arguments`.", param=param)
        call = {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments}}
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        elif last is not None and last["role"] == "assistant":
            last["tool_calls"] = [call]
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif item.type == "function_call_output":
        if item.call_id is None or item.output is None:
            raise RequestError("A function_call_output item needs `call_id` and `output`.", param=param)
        messages.append({"role": "tool", "tool_call_id": item.call_id, "content": _text(item.output)})
    elif item.type == "reasoning":
        return  # a reasoning model's own summary, sent back by some clients: not part of the chat turns
    elif item.type == "item_reference":
        raise RequestError("This server keeps no items: send them in full.", param=f"{param}.type")
    else:
        raise RequestError(f"Input items of type `{item.type}` are not supported.", param=f"{param}.type")


def _content(content: str | list[Part], param: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        if part.type in ("input_text", "output_text", "text") and part.text is not None:
            parts.append({"type": "text", "text": part.text})
        elif part.type == "input_image" and part.image_url is not None:
            image = {"url": part.image_url} | ({"detail": part.detail} if part.detail else {})
            parts.append({"type": "image_url", "image_url": image})
        elif part.type == "refusal":
            continue
        else:
            raise RequestError(f"Content parts of type `{part.type}` are not supported.", param=f"{param}[{j}].type")
    return parts


def _text(output: str | list[Part]) -> str:
    return output if isinstance(output, str) else "".join(p.text or "" for p in output)


def _chat_tool(tool: Tool, i: int) -> dict[str, Any]:
    if tool.type != "function":
        raise RequestError(f"Only function tools are supported, not `{tool.type}`.", param=f"tools[{i}].type")
    if not tool.name:
        raise RequestError("A function tool needs a `name`.", param=f"tools[{i}].name")
    fn: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters or {"type": "object", "properties": {}}}
    if tool.description is not None:
        fn["description"] = tool.description
    if tool.strict is not None:
        fn["strict"] = tool.strict
    return {"type": "function", "function": fn}


def _echo_tool(tool: Tool) -> dict[str, Any]:
    return {"type": tool.type, "name": tool.name, "description": tool.description,
            "parameters": tool.parameters, "strict": tool.strict}  # fmt: skip


def _chat_choice(choice: str | NamedChoice) -> str | dict[str, Any]:
    if isinstance(choice, str):
        return choice
    if choice.type != "function" or not choice.name:
        raise RequestError("`tool_choice` may name a function tool only.", param="tool_choice")
    return {"type": "function", "function": {"name": choice.name}}


def _echo_choice(choice: str | NamedChoice | None) -> str | dict[str, Any]:
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.model_dump(exclude_none=True)


def _response_format(fmt: TextFormat) -> dict[str, Any]:
    if fmt.type == "json_object":
        return {"type": "json_object"}
    if not fmt.name or fmt.schema_ is None:
        raise RequestError("A json_schema format needs `name` and `schema`.", param="text.format")
    spec: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema_}
    if fmt.description is not None:
        spec["description"] = fmt.description
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def parse_responses_request(body: bytes) -> ResponsesRequest:
    """Bytes → a validated Responses request, or a `RequestError` naming the offending `param`."""
    data = load_object(body)
    for name, message in STATELESS.items():
        if data.get(name) is not None:
            raise RequestError(message, param=name)
    try:
        req = ResponsesRequest.model_validate(data)
    except ValidationError as exc:
        raise request_error(exc) from None
    if req.background:
        raise RequestError("Background responses are not supported: this server keeps no responses.",
                           param="background")  # fmt: skip
    return req


def parse_responses(body: bytes) -> ChatRequest:
    """The route table's parser: bytes → the chat request (a `ResponsesChat`, with the echo)."""
    return parse_responses_request(body).to_chat()
