"""``POST /v1/describe``: one uploaded clip through the queue to the model, answered as the record.

The response is the one answer record (:meth:`AnswerRecord.to_json`: ``text``, ``ov_labels``,
``model``, ``task``, ``inputs``, ``details``, ``timings``) plus ``clues`` (the clue engine's, also in
``details``), ``request_id``, ``serve`` (batch size, queue and answer seconds), ``wheel`` (labels on
wheel 1) and, when asked with ``views=true``, ``model_inputs`` (:mod:`ovmer.serve.views`). Paths of
the private folder never reach the client: they are cut down to the uploaded file's name.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from pathlib import Path
from typing import Any

from ovmer.data.registry import Sample
from ovmer.errors import MediaError, OvmerError, ServeError
from ovmer.labels.parse import string_to_list
from ovmer.results.record import AnswerRecord
from ovmer.serve.state import ServerState
from ovmer.serve.uploads import AsyncReadable, RequestScratch, require_media, safe_file_name, save_upload
from ovmer.serve.views import model_input_views
from ovmer.serve.wheel import place_labels

logger = logging.getLogger(__name__)


class Task(str, enum.Enum):
    """What is asked (recorded in the answer record's ``task``)."""

    OVLABELS = "ovlabels"
    DESCRIPTION = "description"


def scrub_tree(value: Any, scratch: RequestScratch) -> Any:
    """``value`` (a JSON tree) with the private folder's path cut out of every string."""
    if isinstance(value, str):
        return scratch.scrub(value)
    if isinstance(value, dict):
        return {k: scrub_tree(v, scratch) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_tree(v, scratch) for v in value]
    return value


async def save_media(
    upload: AsyncReadable, scratch: RequestScratch, field: str, kind: str, limit: int
) -> Path:
    """Save one upload under ``<scratch>/<field>/<safe name>`` and check its content is ``kind``."""
    folder = scratch.path / field
    folder.mkdir(mode=0o700)
    path = folder / safe_file_name(upload.filename, f"{field}.bin")
    require_media(await save_upload(upload, path, limit, field), field, kind)
    return path


def _answer_error(exc: Exception, scratch: RequestScratch) -> ServeError:
    message = scratch.scrub(str(exc))
    if isinstance(exc, ServeError):
        return exc
    if isinstance(exc, MediaError):
        return ServeError(422, "unreadable_media", message)
    return ServeError(422, "model_failed", message)


async def _answer(
    state: ServerState, scratch: RequestScratch, sample: Sample, views: bool
) -> tuple[AnswerRecord, dict[str, Any], dict[str, Any] | None]:
    job = state.batcher.submit(sample, on_finish=scratch.release)
    scratch.hold()  # the job's hold (no await since submit: the worker cannot have run yet)
    view_task = None
    if views:
        assert sample.video is not None
        view_task = scratch.in_thread(model_input_views, sample.video, sample.audio)
    try:
        record = await job.future
    except Exception as exc:
        if isinstance(exc, OvmerError):
            raise _answer_error(exc, scratch) from exc
        raise
    view = None
    if view_task is not None:
        try:
            view = await asyncio.shield(view_task)
        except OvmerError as exc:  # the answer stands; the page says why the views are missing
            view = {"error": scratch.scrub(str(exc))}
    return record, job.info.to_json(), view


def response_body(
    state: ServerState,
    record: AnswerRecord,
    scratch: RequestScratch,
    serve_info: dict[str, Any],
    view: dict[str, Any] | None,
) -> dict[str, Any]:
    """The record's JSON plus the server's additions (module docstring)."""
    data: dict[str, Any] = scrub_tree(record.to_json(), scratch)
    clues = (data.get("details") or {}).get("clues")
    if clues is not None:
        data["clues"] = clues
    data["request_id"] = uuid.uuid4().hex
    data["serve"] = serve_info
    labels = [x.lower().strip() for x in string_to_list(record.ov_labels or [])]
    data["wheel"] = None
    if state.mapper is not None and state.layout is not None:
        data["wheel"] = {"wheel": 1, "roots": state.layout, "labels": place_labels(labels, state.mapper)}
    if view is not None:
        data["model_inputs"] = view
    return data


async def describe_upload(
    state: ServerState,
    video: AsyncReadable,
    audio: AsyncReadable | None,
    subtitle: str | None,
    task: Task,
    views: bool,
) -> dict[str, Any]:
    """Save, queue, answer and clean up one describe request (the folder goes when all let go)."""
    settings = state.settings
    scratch = RequestScratch(settings.temp_root)
    try:
        video_path = await save_media(video, scratch, "video", "video", settings.max_upload_bytes)
        audio_path = None
        if audio is not None and audio.filename:
            audio_path = await save_media(audio, scratch, "audio", "audio", settings.max_upload_bytes)
        sample = Sample(
            name=video_path.stem, video=video_path, audio=audio_path, face=None,
            subtitle=subtitle.strip() if subtitle and subtitle.strip() else None, label=None, split="serve",
        )  # fmt: skip
        record, serve_info, view = await _answer(state, scratch, sample, views)
        record.name, record.task = sample.name, task.value
        return response_body(state, record, scratch, serve_info, view)
    finally:
        scratch.release()


async def with_timeout(state: ServerState, work: Any) -> dict[str, Any]:
    """Run one request's work under ``--timeout``; 504 ``timeout`` when it runs out."""
    try:
        result: dict[str, Any] = await asyncio.wait_for(work, state.settings.timeout_s)
    except asyncio.TimeoutError:
        raise ServeError(
            504,
            "timeout",
            f"the request took longer than this server's limit of {state.settings.timeout_s:g} s (--timeout)",
        ) from None
    return result
