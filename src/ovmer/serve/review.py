"""The review queue of an annotation corpus (``ovmer serve --corpus DIR``; docs/annotate.md, 'Review').

Reads and writes go through :mod:`ovmer.results.review` (the corpus files and the locked, append-only
``review.jsonl``); this module only shapes them for the page: a clip's video is served by its name
(``GET /v1/review/items/{name}/video``; the path comes from the corpus's ``clips.jsonl``, never from
the client), and the corpus folder's path is cut out of every message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ovmer.errors import AnnotationError, ServeError
from ovmer.results.review import CLIPS_FILE, latest_by_name, record_decision, review_queue

#: The queue's status filter (``all``: every clip).
StatusFilter = Literal["all", "pending", "accepted", "edited", "rejected"]


class DecisionBody(BaseModel):
    """``POST /v1/review/items/{name}/decision``: one reviewer's decision on one clip."""

    decision: Literal["accept", "edit", "reject"]
    reviewer: str = Field(min_length=1, max_length=100)
    labels: list[str] | None = Field(default=None, max_length=50)


def require_corpus(corpus: Path | None) -> Path:
    """The server's corpus, or 404 ``no_corpus`` saying how to start a server with one."""
    if corpus is None:
        raise ServeError(404, "no_corpus", "this server has no review corpus; start it with --corpus DIR")
    return corpus


def _scrubbed(exc: AnnotationError, corpus: Path) -> ServeError:
    message = str(exc).replace(os.fspath(corpus) + os.sep, "").replace(os.fspath(corpus), "corpus")
    return ServeError(422, "bad_review", message)


def video_url(name: str) -> str:
    return f"/v1/review/items/{name}/video"


def queue_json(corpus: Path, status: StatusFilter) -> dict[str, Any]:
    """``{"corpus": folder name, "counts": {status: n}, "items": [item JSON + "video_url"]}``."""
    try:
        items = review_queue(corpus)
    except AnnotationError as exc:
        raise _scrubbed(exc, corpus) from exc
    counts: dict[str, int] = {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0}
    rows = []
    for item in items:
        counts[item.status] += 1
        if status in ("all", item.status):
            row = item.to_json()
            row["video_url"] = video_url(item.name) if row.pop("video") else None
            rows.append(row)
    return {"corpus": corpus.name, "counts": counts, "items": rows}


def clip_video(corpus: Path, name: str) -> Path:
    """The video file of clip ``name`` as ``clips.jsonl`` records it (relative paths: from the corpus)."""
    clip = latest_by_name(corpus / CLIPS_FILE).get(name)
    video = clip.get("video") if clip else None
    if not isinstance(video, str) or not video:
        raise ServeError(404, "not_found", f"clip {name!r}: no such clip, or it has no video")
    path = Path(video) if Path(video).is_absolute() else corpus / video
    if not path.is_file():
        raise ServeError(404, "not_found", f"clip {name!r}: its video file is missing on the server")
    return path


def decide(corpus: Path, name: str, body: DecisionBody) -> dict[str, Any]:
    """Append the decision (locked, atomic line) and return it as ``review.jsonl`` stores it."""
    try:
        row = record_decision(corpus, name, body.decision, reviewer=body.reviewer, labels=body.labels)
    except AnnotationError as exc:
        raise _scrubbed(exc, corpus) from exc
    return row.to_json()
