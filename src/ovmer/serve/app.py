"""The FastAPI app of ``ovmer serve``: routes, the page, middlewares and the model's lifetime.

Routes (OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``; docs/serve.md):

* ``GET /`` — the page (``static/index.html``; its script, style and nothing else from ``/static``);
* ``GET /healthz`` — ``{"status": "ok", "model": identity, ...}`` (no key needed: a liveness probe);
* ``GET /v1/models`` — the one model, its batch size and queue counters;
* ``POST /v1/describe`` — :mod:`ovmer.serve.describe`;
* ``POST /v1/score`` — :mod:`ovmer.serve.scoring`;
* ``GET /v1/review/items``, ``GET /v1/review/items/{name}/video``,
  ``POST /v1/review/items/{name}/decision`` — the review queue of ``--corpus`` (:mod:`ovmer.serve.review`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ovmer._version import __version__
from ovmer.errors import OvmerError, ServeError
from ovmer.inference.protocol import AnswerModel
from ovmer.scoring.protocol import Protocol
from ovmer.serve.describe import Task, describe_upload, with_timeout
from ovmer.serve.errors import install_error_handlers
from ovmer.serve.guards import BodyLimit, SecurityHeaders, check_api_key, given_api_key
from ovmer.serve.review import DecisionBody, StatusFilter, clip_video, decide, queue_json, require_corpus
from ovmer.serve.scoring import dataset_for, score_upload, server_ground_truth
from ovmer.serve.settings import ServeSettings
from ovmer.serve.state import ServerState
from ovmer.serve.uploads import RequestScratch, safe_file_name, save_upload

STATIC_DIR = Path(str(resources.files("ovmer.serve") / "static"))

#: The longest subtitle accepted (characters): far above any clip's speech, far below a memory risk.
MAX_SUBTITLE_CHARS = 10_000


def create_app(settings: ServeSettings, model: AnswerModel) -> FastAPI:
    """The app around one loaded ``model``; the queue's worker runs while the app is served."""
    state = ServerState.create(settings, model)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.batcher.start()
        try:
            yield
        finally:
            await state.batcher.stop()
            model.close()

    app = FastAPI(
        title="ovmer serve",
        version=__version__,
        description="Emotion descriptions and OV labels for a clip, and MER-UniBench scoring (docs/serve.md).",
        lifespan=lifespan,
    )
    app.state.ovmer = state
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:  # off unless --cors-origin names who may call from a browser
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_routes(app, state)
    _add_review_routes(app, state)
    return app


def _key_guard(state: ServerState) -> list[Any]:
    """The dependency every ``/v1`` route carries: the API key check (no key set: nothing to check)."""

    def api_key(request: Request) -> None:
        check_api_key(state.settings.api_key, given_api_key(request))

    return [Depends(api_key)]


def _add_routes(app: FastAPI, state: ServerState) -> None:
    guarded = _key_guard(state)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness: the model's identity and the limits the page shows."""
        return state.health()

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict[str, Any]:
        """The one model this server answers with, its batch size and the queue's counters."""
        model = {
            "id": state.model.identity,
            "spec": state.settings.model,
            "batch_size": state.model.batch_size,
        }
        return {
            "models": [model],
            "queue": {"max_queue": state.batcher.max_queue, **asdict(state.batcher.stats)},
        }

    @app.post("/v1/describe", dependencies=guarded)
    async def describe(
        video: Annotated[
            UploadFile, File(description="The clip (content sniffed: MP4/MOV, WebM/MKV, AVI, …).")
        ],
        audio: Annotated[
            UploadFile | None, File(description="A separate audio track (WAV, FLAC, …).")
        ] = None,
        subtitle: Annotated[
            str | None, Form(max_length=MAX_SUBTITLE_CHARS, description="What is said.")
        ] = None,
        task: Annotated[Task, Form(description="ovlabels or description.")] = Task.OVLABELS,
        views: Annotated[bool, Form(description="Add the 8 frames and face crops the model sees.")] = False,
    ) -> dict[str, Any]:
        """Describe one clip: the answer record plus clues, wheel placement and (views) model inputs."""
        return await with_timeout(state, describe_upload(state, video, audio, subtitle, task, views))

    @app.post("/v1/score", dependencies=guarded)
    async def score(
        pred: Annotated[UploadFile, File(description="Predictions in any format `ovmer score` reads.")],
        dataset: Annotated[str, Form(description="Dataset id (mer2023, ovmerdplus, …).")],
        gt: Annotated[
            UploadFile | None, File(description="Ground truth (default: the server's --gt-root).")
        ] = None,
        protocol: Annotated[Protocol, Form()] = Protocol.PAPER,
        metric: Annotated[str | None, Form(max_length=64)] = None,
    ) -> dict[str, Any]:
        """Score a prediction file: the object `ovmer score --json` writes."""
        return await with_timeout(state, _score(state, pred, dataset, gt, protocol, metric or None))


def _add_review_routes(app: FastAPI, state: ServerState) -> None:
    guarded = _key_guard(state)

    @app.get("/v1/review/items", dependencies=guarded)
    async def review_items(status: StatusFilter = "all") -> dict[str, Any]:
        """The corpus's described clips with clues, description, labels, filter verdict and decision."""
        corpus = require_corpus(state.settings.corpus)
        return await asyncio.to_thread(queue_json, corpus, status)

    @app.get("/v1/review/items/{name}/video", dependencies=guarded)
    async def review_video(name: str) -> FileResponse:
        """The clip's video, found by name in the corpus (the client never names a path)."""
        return FileResponse(clip_video(require_corpus(state.settings.corpus), name))

    @app.post("/v1/review/items/{name}/decision", dependencies=guarded)
    async def review_decision(name: str, body: DecisionBody) -> dict[str, Any]:
        """Accept, edit (with labels) or reject one clip; appended to the corpus's review.jsonl."""
        corpus = require_corpus(state.settings.corpus)
        return await asyncio.to_thread(decide, corpus, name, body)


async def _score(
    state: ServerState,
    pred: UploadFile,
    dataset_id: str,
    gt: UploadFile | None,
    protocol: Protocol,
    metric: str | None,
) -> dict[str, Any]:
    dataset = dataset_for(dataset_id)
    if state.scorings.locked():
        raise ServeError(
            429, "busy", "the server is already scoring other files; try again shortly", retry_after=1
        )
    scratch = RequestScratch(state.settings.temp_root)
    limit = state.settings.max_upload_bytes
    try:
        async with state.scorings:
            (scratch.path / "pred").mkdir()
            pred_path = scratch.path / "pred" / safe_file_name(pred.filename, "predictions.jsonl")
            await save_upload(pred, pred_path, limit, "pred")
            if gt is not None and gt.filename:
                (scratch.path / "gt").mkdir()
                gt_path = scratch.path / "gt" / Path(dataset.label_file).name
                await save_upload(gt, gt_path, limit, "gt")
            else:
                gt_path = server_ground_truth(dataset, state.settings.gt_root)
            task = scratch.in_thread(
                _score_in_thread, state, scratch, dataset_id, gt_path, pred_path, protocol, metric
            )
            return await asyncio.shield(task)
    finally:
        scratch.release()


def _score_in_thread(
    state: ServerState,
    scratch: RequestScratch,
    dataset_id: str,
    gt: Path,
    pred: Path,
    protocol: Protocol,
    metric: str | None,
) -> dict[str, Any]:
    try:
        return score_upload(dataset_for(dataset_id), gt, pred, state.mapper, protocol, metric)
    except ServeError:
        raise
    except OvmerError as exc:
        raise ServeError(422, "cannot_score", scratch.scrub(str(exc))) from exc
