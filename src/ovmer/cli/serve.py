"""``ovmer serve``: the HTTP API and the web page (docs/serve.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ovmer.cli.common import AssetsOption, err_console
from ovmer.errors import EnvironmentVariableError, OvmerError


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind; loopback unless you say otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    engine: Annotated[
        str, typer.Option(help="clues: the offline clue engine (no download). Ignored with --model.")
    ] = "clues",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model spec instead of the engine: affectgpt:…, hf:…, openai:… (docs/bench.md).",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Name of the environment variable holding the API key every /v1 request must send."
        ),
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Largest accepted upload (MiB).")] = 50.0,
    max_queue: Annotated[
        int, typer.Option(min=1, help="Requests that may wait for the model; more get 429.")
    ] = 8,
    timeout: Annotated[float, typer.Option(min=0.01, help="Seconds a request may take; then 504.")] = 120.0,
    gt_root: Annotated[
        Path | None, typer.Option(help="Folder with the official *-process label folders, for /v1/score.")
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(help="Allow browser calls from this origin (repeatable); CORS is off without it."),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="An `ovmer annotate` corpus folder to review in the page's Review tab."),
    ] = None,
    assets: AssetsOption = None,
) -> None:
    """Serve one model over HTTP with a web page at / (FastAPI + uvicorn).

    Example: ovmer serve --port 8000   (then open http://127.0.0.1:8000/)
    """
    from ovmer.serve.server import run_server
    from ovmer.serve.settings import ServeSettings

    if engine != "clues" and model is None:
        raise OvmerError(
            f"--engine {engine!r}: the only engine is 'clues'; give other models with --model SPEC"
        )
    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise EnvironmentVariableError(
                f"--api-key-env {api_key_env}: that environment variable is unset or empty; export the key in it"
            )
    for option, folder in (("--gt-root", gt_root), ("--corpus", corpus)):
        if folder is not None and not folder.is_dir():
            raise OvmerError(f"{option} {folder}: not a folder")
    if assets is not None:  # asked for by name: unusable is an error, not a server without the wheel
        from ovmer.assets import load_wheel_maps

        load_wheel_maps(assets, download=False)
    if host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        err_console.print(
            f"[yellow]warning:[/] serving on {host} without --api-key-env: anyone who can reach it may use it"
        )
    settings = ServeSettings(
        model=model or "clues", host=host, port=port, api_key=api_key, max_upload_mb=max_upload_mb,
        max_queue=max_queue, timeout_s=timeout, gt_root=gt_root, assets=assets,
        cors_origins=tuple(cors_origin or ()), corpus=corpus,
    )  # fmt: skip
    run_server(settings)


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the main app."""
    app.command("serve")(serve)
