"""The legacy Completions request (`POST /v1/completions`) as we accept it, mapped onto the chat request.

`prompt` (a string, or a list holding one string) becomes one user message; the sampling fields are
passed as the chat request's. The answer is the model's reply to that message: a chat model answers
a prompt, it does not continue its text. What cannot be honoured is refused with a 400 naming the
field: several prompts or token arrays, `echo`, `suffix`, `logprobs` above 0, `best_of` above 1,
`n` above 1. As on the chat routes, an unset `max_tokens` leaves the length to the model (OpenAI's
legacy default of 16 tokens is not applied).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from convoai_llm.errors import RequestError
from convoai_llm.schemas.body import load_object, request_error
from convoai_llm.schemas.request import ChatRequest, StreamOptions

PASSED = ("temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty", "frequency_penalty",
          "logit_bias", "user", "stream_options")  # fmt: skip
PASSED_EXTRAS = ("app_id", "channel", "user_uid", "turn_id")


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    model: str = ""
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    logit_bias: dict[str, int] | None = None
    user: str | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    best_of: Annotated[int, Field(ge=0, le=1)] | None = None
    logprobs: Annotated[int, Field(ge=0, le=0)] | None = None
    echo: bool | None = None
    suffix: str | None = None

    @property
    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def to_chat(self) -> ChatRequest:
        body: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": self.text}],
                                "stream": bool(self.stream)}  # fmt: skip
        for name in PASSED:
            value = getattr(self, name)
            if value is not None:
                body[name] = value.model_dump() if isinstance(value, BaseModel) else value
        extra = self.model_extra or {}
        body.update({k: extra[k] for k in PASSED_EXTRAS if k in extra})
        return ChatRequest.model_validate(body)


def parse_completion_request(body: bytes) -> CompletionRequest:
    """Bytes → a validated legacy completion request, or a `RequestError` naming the `param`."""
    data = load_object(body)
    try:
        req = CompletionRequest.model_validate(data)
    except ValidationError as exc:
        raise request_error(exc) from None
    if req.echo:
        raise RequestError("`echo` is not supported: the prompt is answered, not continued.", param="echo")
    if req.suffix:
        raise RequestError("`suffix` is not supported: the prompt is answered, not continued.", param="suffix")
    return req


def parse_completions(body: bytes) -> ChatRequest:
    """The route table's parser: bytes → the chat request."""
    return parse_completion_request(body).to_chat()
