"""The review data of an annotation corpus: what a reviewer sees per clip, and their decisions.

An ``ovmer annotate`` corpus folder holds four JSONL files (docs/annotate.md, "Corpus folder"):

- ``clips.jsonl`` — written by ``annotate describe``, one row per clip: ``name``, ``video``,
  ``audio_clue``, ``visual_clue``, ``description``, ``subtitle`` (and ``error`` for a failed clip);
- ``labels.jsonl`` — written by ``annotate filter``: ``name``, ``labels`` (step A), ``sentiment``
  (step B), plus the classifier vote;
- ``filter.jsonl`` — written by ``annotate filter``: ``name``, ``kept`` and, when removed, ``stage``
  and ``reason``;
- ``review.jsonl`` — append-only human decisions ``{name, decision, labels, reviewer, time}``;
  ``decision`` is ``accept``, ``edit`` or ``reject``, ``labels`` a list for ``edit`` (else null),
  ``time`` ISO-8601 UTC. The latest line per name wins, so a decision is changed by deciding again
  and the file keeps the whole history.

Why this lives in ``results``: both the corpus builder (``ovmer.annotate``) and the review page
(``ovmer.serve``) read it, and they are sibling layers that may not import each other.

How decisions bind (:func:`decide`): ``reject`` removes a clip whatever the filter said, ``edit``
keeps it with the reviewer's labels, ``accept`` keeps it with its extracted labels even when a filter
stage removed it — the reviewer is the last word.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ovmer.errors import AnnotationError
from ovmer.results.jsonl import append_json_lines, read_json_lines

CLIPS_FILE = "clips.jsonl"
LABELS_FILE = "labels.jsonl"
FILTER_FILE = "filter.jsonl"
REVIEW_FILE = "review.jsonl"

Decision = Literal["accept", "edit", "reject"]
DECISIONS: tuple[str, ...] = ("accept", "edit", "reject")
#: A clip's review status: ``pending`` until someone decides, then the decision's past tense.
Status = Literal["pending", "accepted", "edited", "rejected"]
_STATUS: dict[str, Status] = {"accept": "accepted", "edit": "edited", "reject": "rejected"}


@dataclass(frozen=True)
class ReviewDecision:
    """One line of ``review.jsonl``.

    Attributes:
        name: the clip.
        decision: ``accept`` | ``edit`` | ``reject``.
        labels: the reviewer's OV labels for ``edit`` (non-empty list), else ``None``.
        reviewer: who decided (free text, non-empty).
        time: when, ISO-8601 UTC (``2026-12-03T18:00:00Z``).
    """

    name: str
    decision: Decision
    labels: list[str] | None
    reviewer: str
    time: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object of one ``review.jsonl`` line."""
        return asdict(self)


@dataclass
class ReviewItem:
    """Everything the review page shows for one clip.

    ``labels``/``sentiment`` are what the extractor took from the description (empty before
    ``annotate filter`` ran); ``kept``/``stage``/``reason`` the filter's verdict (``kept`` is
    ``None`` before it ran); ``decision`` the latest human decision, if any.
    """

    name: str
    video: str | None
    audio_clue: str | None
    visual_clue: str | None
    description: str | None
    subtitle: str | None
    labels: list[str] = field(default_factory=list)
    sentiment: str | None = None
    kept: bool | None = None
    stage: str | None = None
    reason: str | None = None
    decision: ReviewDecision | None = None

    @property
    def status(self) -> Status:
        """``pending`` or the latest decision (``accepted``, ``edited``, ``rejected``)."""
        return "pending" if self.decision is None else _STATUS[self.decision.decision]

    def to_json(self) -> dict[str, Any]:
        """A JSON object for the page's API: every field plus ``status``."""
        row = asdict(self)
        row["decision"] = None if self.decision is None else self.decision.to_json()
        row["status"] = self.status
        return row


def latest_by_name(path: Path) -> dict[str, dict[str, Any]]:
    """The rows of an append-only JSONL corpus file keyed by ``name``; a later row replaces an earlier
    one (missing file: empty). Rows without a string ``name`` are skipped."""
    rows: dict[str, dict[str, Any]] = {}
    for row in read_json_lines(Path(path)):
        name = row.get("name")
        if isinstance(name, str) and name:
            rows[name] = row
    return rows


def _decision_from_row(row: dict[str, Any], where: Path) -> ReviewDecision:
    decision = row.get("decision")
    labels = row.get("labels")
    if decision not in DECISIONS:
        raise AnnotationError(
            f"{where}: clip {row.get('name')!r} has decision {decision!r} (use {DECISIONS})"
        )
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise AnnotationError(f"{where}: clip {row['name']!r}: 'labels' must be a list of strings or null")
    return ReviewDecision(
        name=row["name"],
        decision=decision,
        labels=labels,
        reviewer=str(row.get("reviewer", "")),
        time=str(row.get("time", "")),
    )


def read_decisions(corpus: Path) -> dict[str, ReviewDecision]:
    """The latest decision per clip in ``corpus/review.jsonl`` (none: empty).

    Raises:
        AnnotationError: a line holds an unknown decision or labels that are not a list of strings.
    """
    path = Path(corpus) / REVIEW_FILE
    return {name: _decision_from_row(row, path) for name, row in latest_by_name(path).items()}


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) else None


def _item(name: str, clip: dict[str, Any], labels: dict[str, Any], verdict: dict[str, Any]) -> ReviewItem:
    raw_labels = labels.get("labels")
    return ReviewItem(
        name=name,
        video=_text(clip, "video"),
        audio_clue=_text(clip, "audio_clue"),
        visual_clue=_text(clip, "visual_clue"),
        description=_text(clip, "description"),
        subtitle=_text(clip, "subtitle"),
        labels=[str(x) for x in raw_labels] if isinstance(raw_labels, list) else [],
        sentiment=_text(labels, "sentiment"),
        kept=verdict["kept"] if isinstance(verdict.get("kept"), bool) else None,
        stage=_text(verdict, "stage"),
        reason=_text(verdict, "reason"),
    )


def review_queue(corpus: Path, status: Status | None = None) -> list[ReviewItem]:
    """Every described clip of ``corpus`` with its clues, description, labels, verdict and decision.

    Clips whose description failed (an ``error`` and no ``description``) are left out: there is
    nothing to review. Order: ``clips.jsonl`` order. ``status`` keeps only items in that status.

    Raises:
        AnnotationError: ``corpus`` has no ``clips.jsonl`` (run ``ovmer annotate describe`` first).
    """
    corpus = Path(corpus)
    clips_path = corpus / CLIPS_FILE
    if not clips_path.is_file():
        raise AnnotationError(
            f"{clips_path}: not found (run `ovmer annotate describe ... --out {corpus}` first)"
        )
    labels = latest_by_name(corpus / LABELS_FILE)
    verdicts = latest_by_name(corpus / FILTER_FILE)
    decisions = read_decisions(corpus)
    items = []
    for name, clip in latest_by_name(clips_path).items():
        if _text(clip, "description") is None:
            continue
        item = _item(name, clip, labels.get(name, {}), verdicts.get(name, {}))
        item.decision = decisions.get(name)
        if status is None or item.status == status:
            items.append(item)
    return items


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a ``Z`` (second precision)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _checked_labels(decision: str, labels: list[str] | None, name: str) -> list[str] | None:
    if decision not in DECISIONS:
        raise AnnotationError(
            f"clip {name!r}: unknown decision {decision!r} (use one of {', '.join(DECISIONS)})"
        )
    if decision != "edit":
        if labels is not None:
            raise AnnotationError(
                f"clip {name!r}: labels are given only with decision 'edit', not {decision!r}"
            )
        return None
    cleaned = [str(label).strip() for label in (labels or []) if str(label).strip()]
    if not cleaned:
        raise AnnotationError(f"clip {name!r}: decision 'edit' needs a non-empty list of labels")
    return cleaned


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path.lock`` so two reviewers' appends never interleave."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def record_decision(
    corpus: Path,
    name: str,
    decision: str,
    *,
    reviewer: str,
    labels: list[str] | None = None,
    time: str | None = None,
) -> ReviewDecision:
    """Append one decision to ``corpus/review.jsonl`` atomically and return it.

    The line is written in one ``write`` + ``fsync`` under an exclusive lock (a crash can tear only
    this line, which the next reader drops), so concurrent reviewers never interleave.

    Args:
        corpus: the corpus folder (must hold ``clips.jsonl`` listing ``name``).
        name: the clip.
        decision: ``accept`` | ``edit`` | ``reject``.
        reviewer: who decides (non-empty).
        labels: the new OV labels, required for ``edit`` and refused otherwise.
        time: ISO-8601 UTC; default now.

    Raises:
        AnnotationError: unknown clip or decision, missing reviewer, labels that do not fit.
    """
    corpus = Path(corpus)
    if not reviewer or not reviewer.strip():
        raise AnnotationError(f"clip {name!r}: a decision needs a reviewer name")
    checked = _checked_labels(decision, labels, name)
    clips = latest_by_name(corpus / CLIPS_FILE)
    if name not in clips:
        raise AnnotationError(
            f"{corpus / CLIPS_FILE}: no clip named {name!r} (pick one from the review queue)"
        )
    row = ReviewDecision(
        name=name,
        decision=decision,  # type: ignore[arg-type]  # checked against DECISIONS above
        labels=checked,
        reviewer=reviewer.strip(),
        time=time or utc_now(),
    )
    path = corpus / REVIEW_FILE
    with _locked(path):
        append_json_lines(path, [row.to_json()])
    return row


def decide(
    kept_by_filter: bool, labels: list[str], decision: ReviewDecision | None
) -> tuple[bool, list[str]]:
    """Whether a clip goes into the corpus, and with which labels, once its review decision applies.

    ``reject`` → out; ``edit`` → in, with the reviewer's labels; ``accept`` → in with ``labels``, even
    when the filter removed it; no decision → the filter's verdict with ``labels``.
    """
    if decision is None:
        return kept_by_filter, labels
    if decision.decision == "reject":
        return False, labels
    if decision.decision == "edit":
        return True, list(decision.labels or [])
    return True, labels
