"""What OpenAI's `POST /v1/chat/completions` rejects, read from its published spec at test time.

The spec (`openapi.yaml`, never copied into the repo) is found as `shared/openai/openapi.yaml` beside the
repository or beside one of its parent folders (`../shared` of a clone, `../../shared` of a worktree), or
at `$CONVOAI_OPENAI_SPEC`. From it `ChatRules` takes:

- the top-level fields of `CreateChatCompletionRequest` (through its `allOf`s): any other field gets
  OpenAI's 400 "Unrecognized request argument supplied: NAME";
- the keys of each role's message schema (`ChatCompletionRequest{System,Developer,User,Assistant,Tool,
  Function}Message`): any other key gets "Additional properties are not allowed ('KEY' was unexpected)";
- every type, range, enum and required field, checked with jsonschema (OpenAPI's `nullable: true`
  becomes JSON Schema's `null`), reported as OpenAI words it ("Invalid type for 'temperature': expected
  a decimal, but got a string instead.", with `param` and `code`).

Rules the real API enforces that the spec does not state (each observed from OpenAI's answers):
`tools: []` is an empty array (400); `tool_choice`/`parallel_tool_calls` need `tools`; `stream_options`
needs `stream: true`; audio output (`modalities` with "audio") needs an audio model and an `audio`
parameter. The mock's models are text models, so any request for audio output gets a 400.

Without the spec, `ChatRules.subset()` keeps a documented strict subset: the same unknown-field and
unknown-message-key checks over the field lists below, plus those extra rules, but no type checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contract import _nullable

SPEC_ENV = "CONVOAI_OPENAI_SPEC"
_SCHEMAS = "#/components/schemas/"

# The subset used without the spec (the spec's lists as of commit f85dbe2, 2026-08-21).
SUBSET_TOP_LEVEL = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens", "max_completion_tokens",
        "stop", "n", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "reasoning_effort", "service_tier",
        "prediction", "modalities", "audio", "store", "metadata", "verbosity", "web_search_options",
        "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "function_call", "functions",
    }
)  # fmt: skip
SUBSET_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "refusal", "name", "audio", "tool_calls", "function_call"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
_TYPE_WORDS = {"number": "a decimal", "integer": "an integer", "string": "a string", "boolean": "a boolean",
               "object": "an object", "array": "an array", "null": "null"}  # fmt: skip


@dataclass(frozen=True)
class Rejection:
    """OpenAI's 400 error for one request."""

    message: str
    param: str | None = None
    code: str | None = None

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": "invalid_request_error", "param": self.param,
                          "code": self.code}}  # fmt: skip


def find_spec(start: Path | None = None) -> Path | None:
    """`$CONVOAI_OPENAI_SPEC`, else `shared/openai/openapi.yaml` beside the repo or one of its parents."""
    if os.environ.get(SPEC_ENV):
        path = Path(os.environ[SPEC_ENV])
        return path if path.is_file() else None
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        candidate = folder / "shared" / "openai" / "openapi.yaml"
        if candidate.is_file():
            return candidate
    return None


class ChatRules:
    """`check(body)` → the `Rejection` OpenAI would answer, or None for a request it accepts."""

    def __init__(self, top_level: frozenset[str], message_keys: dict[str, frozenset[str]],
                 spec: dict[str, Any] | None = None, source: str = "subset") -> None:  # fmt: skip
        self.top_level = top_level
        self.message_keys = message_keys
        self.source = source
        self._request: Draft202012Validator | None = None
        self._messages: dict[str, Draft202012Validator] = {}
        if spec is not None:
            registry = Registry().with_resource("urn:openai", Resource.from_contents(spec, DRAFT202012))
            ref = "urn:openai" + _SCHEMAS

            def validator(name: str) -> Draft202012Validator:
                return Draft202012Validator({"$ref": ref + name}, registry=registry)

            self._request = validator("CreateChatCompletionRequest")
            self._messages = {role: validator(name) for role, name in _role_schemas(spec).items()}

    @classmethod
    def subset(cls) -> ChatRules:
        return cls(SUBSET_TOP_LEVEL, SUBSET_MESSAGE_KEYS)

    @classmethod
    def from_spec(cls, path: Path) -> ChatRules:
        spec = _load(str(path))
        schemas = spec["components"]["schemas"]
        top = _properties(schemas, schemas["CreateChatCompletionRequest"])
        keys = {role: frozenset(_properties(schemas, schemas[name])) for role, name in _role_schemas(spec).items()}
        return cls(frozenset(top), keys, spec, source=str(path))

    @classmethod
    def best(cls) -> ChatRules:
        """From the spec when it is found, else the documented subset."""
        path = find_spec()
        return cls.from_spec(path) if path is not None else cls.subset()

    @property
    def checks_types(self) -> bool:
        return self._request is not None

    def check(self, body: Any) -> Rejection | None:
        if not isinstance(body, dict):
            return Rejection("The request body must be a JSON object.", code="invalid_type")
        for key in body:
            if key not in self.top_level:
                return Rejection(f"Unrecognized request argument supplied: {key}")
        messages = body.get("messages")
        if isinstance(messages, list):
            for i, message in enumerate(messages):
                problem = self._check_message(i, message)
                if problem is not None:
                    return problem
        if self._request is not None:
            # messages were checked one by one above, against their role's schema (clearer errors)
            placeholder = [{"role": "user", "content": "x"}] if isinstance(messages, list) and messages else messages
            problem = _first_error(self._request, {**body, "messages": placeholder} if "messages" in body else body)
            if problem is not None:
                return problem
        return _observed_rules(body)

    def _check_message(self, i: int, message: Any) -> Rejection | None:
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            return Rejection(f"Invalid type for '{where}': expected an object, but got {_kind(message)} instead.",
                             where, "invalid_type")  # fmt: skip
        role = message.get("role")
        if role not in self.message_keys:
            allowed = ", ".join(f"'{r}'" for r in self.message_keys)
            return Rejection(f"Invalid value: '{role}'. Supported values are: {allowed}.", f"{where}.role",
                             "invalid_value")  # fmt: skip
        for key in message:
            if key not in self.message_keys[role]:
                return Rejection(f"Additional properties are not allowed ('{key}' was unexpected) - 'messages.{i}'",
                                 where)  # fmt: skip
        validator = self._messages.get(role)
        return _first_error(validator, message, prefix=where) if validator is not None else None


@cache
def _load(path: str) -> dict[str, Any]:
    with open(path, "rb") as f:
        spec: dict[str, Any] = _nullable(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    return spec


def _properties(schemas: dict[str, Any], node: dict[str, Any]) -> set[str]:
    """Every property a schema defines, through `$ref` and `allOf`."""
    if "$ref" in node:
        return _properties(schemas, schemas[node["$ref"].removeprefix(_SCHEMAS)])
    out = set(node.get("properties", {}))
    for part in node.get("allOf", []):
        out |= _properties(schemas, part)
    return out


def _role_schemas(spec: dict[str, Any]) -> dict[str, str]:
    """role → the name of its message schema, from `ChatCompletionRequestMessage`'s `oneOf`."""
    schemas = spec["components"]["schemas"]
    out: dict[str, str] = {}
    for branch in schemas["ChatCompletionRequestMessage"]["oneOf"]:
        name = branch["$ref"].removeprefix(_SCHEMAS)
        out[schemas[name]["properties"]["role"]["enum"][0]] = name
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _path(prefix: str, error: ValidationError) -> str:
    out = prefix
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _wrong_type(error: ValidationError, parent: ValidationError) -> bool:
    """This branch wants another JSON type, or another kind of object (its `type`/`role` tag differs)."""
    depth = len(parent.absolute_path)
    if error.validator == "type" and len(error.absolute_path) == depth:
        return True
    tag = len(error.absolute_path) == depth + 1 and error.absolute_path[-1] in ("type", "role")
    return tag and error.validator in ("enum", "const")


def _specific(error: ValidationError) -> tuple[ValidationError, list[str]]:
    """Down through `anyOf`/`oneOf` to the branch meant for this value; with none, the types wanted."""
    while error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        fitting = [errs for errs in branches.values() if not any(_wrong_type(e, error) for e in errs)]
        if not fitting:
            wanted = [e.validator_value for e in error.context if e.validator == "type"]
            return error, [t for v in wanted for t in ([v] if isinstance(v, str) else v)]
        error = sorted(fitting[0], key=lambda e: len(e.absolute_path))[-1]
    if error.validator == "type":
        value = error.validator_value
        return error, [value] if isinstance(value, str) else list(value)
    return error, []


def _first_error(validator: Draft202012Validator, instance: Any, prefix: str = "") -> Rejection | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    error, types = _specific(errors[0])
    param = _path(prefix, error) or None
    where = param or "body"
    if types:
        names = dict.fromkeys(_TYPE_WORDS.get(t, t) for t in types if t != "null")
        expected = " or ".join(names) if len(names) < 2 else "one of " + " or ".join(names)
        return Rejection(f"Invalid type for '{where}': expected {expected}, but got {_kind(error.instance)} instead.",
                         param, "invalid_type")  # fmt: skip
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        full = f"{where}.{missing}" if param else missing
        return Rejection(f"Missing required parameter: '{full}'.", full, "missing_required_parameter")
    if error.validator == "minItems" and error.instance == []:
        return Rejection(f"Invalid '{where}': empty array. Expected an array with minimum length "
                         f"{error.validator_value}, but got an empty array instead.", param, "empty_array")  # fmt: skip
    if error.validator in ("maximum", "minimum"):
        side = "above maximum" if error.validator == "maximum" else "below minimum"
        sign = "<=" if error.validator == "maximum" else ">="
        return Rejection(f"Invalid '{where}': {side} value. Expected a value {sign} {error.validator_value}, "
                         f"but got {error.instance} instead.", param, f"{error.validator}_value")  # fmt: skip
    if error.validator == "enum":
        allowed = ", ".join(f"'{v}'" for v in error.validator_value if v is not None)
        return Rejection(f"Invalid value: '{error.instance}'. Supported values are: {allowed}.", param, "invalid_value")
    return Rejection(f"Invalid value for '{where}': {error.message}", param, "invalid_value")


def _observed_rules(body: dict[str, Any]) -> Rejection | None:
    """What the real API rejects beyond its spec (see the module docstring)."""
    if body.get("tools") == []:
        return Rejection("Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty "
                         "array instead.", "tools", "empty_array")  # fmt: skip
    for key in ("tool_choice", "parallel_tool_calls"):
        if key in body and not body.get("tools"):
            return Rejection(f"Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified.", key)
    if "stream_options" in body and not body.get("stream"):
        return Rejection("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    if "audio" in (body.get("modalities") or []):
        if "audio" not in str(body.get("model", "")):
            return Rejection(f"This model does not support audio output: {body.get('model')!r} is a text model "
                             "(modalities: ['audio']).", "modalities", "unsupported_value")  # fmt: skip
        if body.get("audio") is None:
            return Rejection("Missing required parameter: 'audio'.", "audio", "missing_required_parameter")
    return None
