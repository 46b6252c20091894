"""The `convoai-llm` command: serve, ask, and (when the RAG extra is installed) kb."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from convoai_llm.client import write_wav
from convoai_llm.core.plan import Kind
from convoai_llm.settings import Settings

app = typer.Typer(help="convoai-llm: an OpenAI-compatible streaming endpoint for voice agents.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000).")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes, each on its own SO_REUSEPORT socket.")] = 1,
    http: Annotated[
        str, typer.Option(help="HTTP/1.1 parser: httptools (guarded, default) or h11 (comparison only).")
    ] = "httptools",
) -> None:
    """Start the server."""
    from convoai_llm.server import ServeOptions
    from convoai_llm.server import serve as run_server

    if http not in ("httptools", "h11"):
        raise typer.BadParameter("httptools or h11", param_hint="--http")
    settings = Settings()
    options = ServeOptions(
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers,
        reload=reload,
        http="h11" if http == "h11" else "httptools",
    )
    raise typer.Exit(run_server(options))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="What to ask.")],
    url: Annotated[str, typer.Option(help="Server base URL.")] = "http://127.0.0.1:8000",
    model: Annotated[str, typer.Option(help="Model name to send.")] = "",
    route: Annotated[str, typer.Option(help="chat, rag or audio.")] = "chat",
    api_key: Annotated[
        str, typer.Option(envvar="CONVOAI_CLIENT_KEY", help="Bearer key, if the server needs one.")
    ] = "",
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Ask for one JSON answer.")] = False,
    audio: Annotated[
        Path | None, typer.Option("--audio", help="Ask the audio route and save the speech as this WAV file.")
    ] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="No server: run the pipeline here, with this machine's settings.")
    ] = False,
) -> None:
    """Ask a running server (or, with --in-process, the pipeline itself) and print the answer as it streams."""
    from convoai_llm.client import ask_server

    if audio is not None:
        route = "audio"
    if in_process:
        if route not in ("chat", "rag", "audio"):
            typer.echo(f"unknown route {route!r}: use chat, rag or audio", err=True)
            raise typer.Exit(2)
        raise typer.Exit(asyncio.run(ask_pipeline(question, route, model, audio)))  # type: ignore[arg-type]
    code = ask_server(
        question, url=url, model=model, route=route, api_key=api_key, stream=not no_stream, wav_path=audio
    )
    raise typer.Exit(code)


async def ask_pipeline(question: str, kind: Kind, model: str, wav_path: Path | None) -> int:
    """`ask --in-process`: the same pipeline the server runs, without HTTP (chat, RAG or audio)."""
    from convoai_llm.core.pipeline import Pipeline
    from convoai_llm.core.plan import Caller
    from convoai_llm.core.services import open_services
    from convoai_llm.errors import ConvoError
    from convoai_llm.events import AudioDelta, TextDelta
    from convoai_llm.schemas.request import ChatRequest

    req = ChatRequest.model_validate(
        {"model": model, "messages": [{"role": "user", "content": question}], "stream": True}
    )
    pcm = bytearray()
    async with open_services(Settings()) as services:
        try:
            plan = await Pipeline(services).prepare(
                kind, req, Caller(request_id="audio_cli" if kind == "audio" else "cli")
            )
            try:
                async for ev in plan.events:
                    if isinstance(ev, TextDelta) or (isinstance(ev, AudioDelta) and ev.transcript):
                        typer.echo(ev.text if isinstance(ev, TextDelta) else ev.transcript, nl=False)
                    if isinstance(ev, AudioDelta) and ev.data:
                        pcm += base64.b64decode(ev.data)
            finally:
                await plan.aclose()
        except ConvoError as exc:
            typer.echo(f"\nerror: {exc.message}", err=True)
            return 1
    typer.echo()
    if wav_path is not None:
        write_wav(wav_path, bytes(pcm))
    return 0


def _mount_optional() -> None:
    from convoai_llm.tools.cli import tools_app

    app.add_typer(tools_app, name="tools", help="Server-side tools: list what the config provides.")
    try:
        from convoai_llm.rag.cli import kb_app  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    app.add_typer(kb_app, name="kb", help="Manage the knowledge base.")


def setting_defaults(command: TyperGroup, settings: Settings) -> dict[str, Any]:
    """Click's `default_map`: `kb` and `tools` take the knowledge base, embedding model and tools config from
    the same `Settings` as `serve` (so a value in `.env` reaches every command)."""
    groups: dict[str, dict[str, Any]] = {
        "kb": {"db": settings.kb_path, "url": settings.kb_url, "model": settings.rag_embed_model,
               "max_file_mb": settings.kb_max_file_mb},
        "tools": {"config": settings.tools_config},
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name, values in groups.items():
        group = command.commands.get(name)
        if isinstance(group, TyperGroup):
            out[name] = {
                str(sub.name): {p.name: values[p.name] for p in sub.params if values.get(str(p.name)) is not None}
                for sub in group.commands.values()
            }
    return out


def main() -> None:
    _mount_optional()
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    command.main(prog_name="convoai-llm", default_map=setting_defaults(command, Settings()))


if __name__ == "__main__":
    main()
