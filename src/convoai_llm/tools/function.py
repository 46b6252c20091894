"""Python function tools: `module:function` (or `path/to/file.py:function`) with a schema from type hints.

A function's arguments become a pydantic model built from its signature (type hints, defaults,
`Annotated[..., Field(description=...)]`), whose JSON schema is what the model sees; a function whose
only parameter is a pydantic model uses that model. Arguments are validated by the same model before
the call. Async functions are awaited; plain functions run in a worker thread (a timeout stops waiting
for them, but a thread cannot be interrupted). The return value is the result: a string as is,
anything else as JSON.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_type_hints

import pydantic
import pydantic_core

from convoai_llm.tools.tool import BadArguments, Tool, ToolConfigError


def load_callable(target: str, base_dir: Path) -> Callable[..., Any]:
    """`pkg.mod:fn` (imported) or `file.py:fn` (loaded from a path, relative to `base_dir`)."""
    module_ref, sep, attr = target.rpartition(":")
    if not sep or not module_ref or not attr:
        raise ToolConfigError(f"Function target {target!r} must look like 'module:function' or 'file.py:function'.")
    try:
        if module_ref.endswith(".py"):
            path = (base_dir / module_ref).resolve()
            name = f"convoai_tools_{path.stem}_{abs(hash(str(path)))}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ToolConfigError(f"Cannot load {path}.")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_ref)
    except ToolConfigError:
        raise
    except Exception as exc:
        raise ToolConfigError(f"Cannot import {module_ref!r} for tool {target!r}: {exc}") from exc
    fn = vars(module).get(attr)
    if not callable(fn):
        raise ToolConfigError(f"{target!r} is not a function.")
    return fn  # type: ignore[no-any-return]


def arguments_model(fn: Callable[..., Any]) -> tuple[type[pydantic.BaseModel], bool]:
    """The model validating `fn`'s arguments, and whether `fn` takes that model as its single argument."""
    sig = inspect.signature(fn)
    hints = get_type_hints(fn, include_extras=True)
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(params) == 1:
        only = hints.get(params[0].name)
        if isinstance(only, type) and issubclass(only, pydantic.BaseModel):
            return only, True
    fields: dict[str, Any] = {}
    for p in params:
        if p.kind is p.POSITIONAL_ONLY:
            raise ToolConfigError(f"{fn.__qualname__}: positional-only parameters cannot be tool arguments.")
        annotation = hints.get(p.name, Any)
        default = ... if p.default is p.empty else p.default
        fields[p.name] = (annotation, default)
    model = pydantic.create_model(f"{fn.__name__}_arguments", **fields)
    return model, False


def json_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in (schema.get("properties") or {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("properties", {})
    return schema


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return pydantic_core.to_json(value, fallback=str).decode()


def function_tool(target: str, base_dir: Path, *, name: str | None = None, description: str | None = None) -> Tool:
    fn = load_callable(target, base_dir)
    try:
        model, takes_model = arguments_model(fn)
        schema = json_schema(model)
    except ToolConfigError:
        raise
    except Exception as exc:
        raise ToolConfigError(f"Cannot derive a JSON schema for {target!r}: {exc}") from exc
    is_async = inspect.iscoroutinefunction(fn)

    async def run(arguments: dict[str, Any]) -> str:
        try:
            parsed = model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise BadArguments(f"Invalid arguments: {problems}.") from None
        if takes_model:
            call_args: tuple[Any, ...] = (parsed,)
            call_kwargs: dict[str, Any] = {}
        else:
            call_args, call_kwargs = (), {k: getattr(parsed, k) for k in type(parsed).model_fields}
        if is_async:
            result = await fn(*call_args, **call_kwargs)
        else:
            result = await asyncio.to_thread(fn, *call_args, **call_kwargs)
        return to_text(result)

    doc = (inspect.getdoc(fn) or "").strip() or (inspect.cleandoc(model.__doc__ or "") if takes_model else "")
    return Tool(
        name=name or fn.__name__,
        description=description or doc or fn.__name__.replace("_", " "),
        parameters=schema,
        source=f"function:{target}",
        run=run,
    )
