"""The corpus out: MER2025-layout files, a manifest the registry reads, and per-clip provenance.

From a filtered corpus folder (``clips.jsonl``, ``labels.jsonl``, ``filter.jsonl``) and its review
decisions (``review.jsonl``, applied by :func:`ovmer.results.review.decide`) this writes, in the
corpus folder:

- ``track2_train_<name>.csv`` — ``name, openset`` (the OV list as ``['a', 'b']``), MER2025's Track 2 layout;
- ``track3_train_<name>.csv`` — ``name, reason`` (the description), MER2025's Track 3 layout;
- ``manifest.csv`` — ``name, video, audio, subtitle, labels, description``: the registry's ``csv:``
  manifest, so ``ovmer train … data.dataset=csv:CORPUS/manifest.csv`` trains on it unchanged;
- ``provenance.jsonl`` — per clip: clue models, prompt hashes, the extractor, every filter decision,
  the review decision, and whether it is in the corpus.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.atomic import write_text_atomic
from ovmer.errors import AnnotationError
from ovmer.results.review import CLIPS_FILE, FILTER_FILE, LABELS_FILE, decide, latest_by_name, read_decisions

MANIFEST_FILE = "manifest.csv"
PROVENANCE_FILE = "provenance.jsonl"


@dataclass
class CorpusFiles:
    """The files :func:`write_corpus` wrote and how many clips are in the corpus."""

    track2: Path
    track3: Path
    manifest: Path
    provenance: Path
    clips: int


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _final(
    name: str, clip: dict[str, Any], labels: dict[str, Any], verdict: dict[str, Any], decision: Any
) -> tuple[bool, list[str]]:
    kept_by_filter = bool(verdict.get("kept", False)) and "error" not in labels
    return decide(kept_by_filter, list(labels.get("labels") or []), decision)


def write_corpus(corpus: str | Path, name: str | None = None) -> CorpusFiles:
    """Write the corpus files of a filtered folder (see the module docstring); ``name`` defaults to
    the folder's name (``track2_train_<name>.csv``).

    A clip is in the corpus when the filter kept it, unless a reviewer rejected it; a reviewer's
    ``accept`` brings back a clip the filter removed, ``edit`` replaces its labels.

    Raises:
        AnnotationError: the folder was not filtered yet (no ``filter.jsonl``), or ``name`` is not a
            plain file-name part.
    """
    corpus = Path(corpus)
    name = name or corpus.resolve().name
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise AnnotationError(f"corpus name {name!r}: use letters, digits, '-' or '_'")
    if not (corpus / FILTER_FILE).is_file():
        raise AnnotationError(
            f"{corpus / FILTER_FILE}: not found (run `ovmer annotate filter {corpus}` first)"
        )
    clips = latest_by_name(corpus / CLIPS_FILE)
    labels = latest_by_name(corpus / LABELS_FILE)
    verdicts = latest_by_name(corpus / FILTER_FILE)
    decisions = read_decisions(corpus)
    track2, track3, manifest, provenance = [], [], [], []
    for clip_name, clip in clips.items():
        if not clip.get("description"):
            continue
        row = labels.get(clip_name, {})
        decision = decisions.get(clip_name)
        keep, final_labels = _final(clip_name, clip, row, verdicts.get(clip_name, {}), decision)
        provenance.append(_provenance(clip, row, verdicts.get(clip_name, {}), decision, keep, final_labels))
        if not keep:
            continue
        track2.append([clip_name, repr(final_labels)])  # "['happy', 'excited']", as the MER2025 release
        track3.append([clip_name, clip["description"]])
        manifest.append(
            [
                clip_name,
                clip.get("video") or "",
                clip.get("audio") or "",
                clip.get("subtitle") or "",
                repr(final_labels),  # "[]" reads as an empty OV list: trained as neutral, as upstream
                clip["description"],
            ]
        )
    files = CorpusFiles(
        corpus / f"track2_train_{name}.csv", corpus / f"track3_train_{name}.csv", corpus / MANIFEST_FILE,
        corpus / PROVENANCE_FILE, len(track2),
    )  # fmt: skip
    write_text_atomic(files.track2, _csv(["name", "openset"], track2))
    write_text_atomic(files.track3, _csv(["name", "reason"], track3))
    write_text_atomic(
        files.manifest, _csv(["name", "video", "audio", "subtitle", "labels", "description"], manifest)
    )
    write_text_atomic(files.provenance, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in provenance))
    return files


def _provenance(
    clip: dict[str, Any],
    labels: dict[str, Any],
    verdict: dict[str, Any],
    decision: Any,
    keep: bool,
    final_labels: list[str],
) -> dict[str, Any]:
    return {
        "name": clip["name"],
        "in_corpus": keep,
        "labels": final_labels,
        "sentiment": labels.get("sentiment"),
        "clue_models": clip.get("provenance", {}),
        "merge_branch": clip.get("branch"),
        "extractor": labels.get("extractor"),
        "filter": {k: verdict.get(k) for k in ("kept", "stage", "reason", "details")},
        "review": None if decision is None else decision.to_json(),
    }
