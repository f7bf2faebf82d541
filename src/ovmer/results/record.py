"""The one answer record: what a model said about one sample, and everything known around it.

Every command that produces or reads a model's answers uses :class:`AnswerRecord`: ``infer``,
``bench``, ``describe --json``, ``extract``, ``score`` and ``unibench`` (the JSONL schema is in
docs/scoring.md). Label extraction fills ``ov_labels`` (step A) and ``sentiment`` (step B) in place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The fields a record's text-like outputs live in, in pipeline order.
OUTPUT_FIELDS = ("text", "ov_labels", "sentiment")


@dataclass
class AnswerRecord:
    """One sample's answer.

    Attributes:
        name: the sample's name (required).
        text: the model's free-text answer (upstream's ``name2reason`` value).
        ov_labels: step-A output *as stored* (``'[concern, worry]'``, so scoring sees exactly what
            upstream saw) or a list of labels.
        sentiment: step-B output (``positive`` …).
        model: the model's identity (its spec and settings).
        dataset, task: where and what was asked (``ovlabels`` or ``description``).
        run, checkpoint: the run folder and checkpoint of official result layouts.
        inputs: where the model's inputs came from (:class:`ovmer.media.inputs.InputProvenance`).
        details: model-specific facts (generated tokens, decoding, clues …).
        timings: seconds spent on this sample, by stage.
        error: why there is no answer (a failed sample: ``errors.jsonl``, a server's reply).
    """

    name: str
    text: str | None = None
    ov_labels: str | list[str] | None = None
    sentiment: str | None = None
    model: str | None = None
    dataset: str | None = None
    task: str | None = None
    run: str | None = None
    checkpoint: str | None = None
    inputs: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    timings: dict[str, float] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of one JSONL line (fields that are None left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Predictions:
    """The records of one checkpoint on one dataset, keyed by sample name in file order."""

    source: str
    records: dict[str, AnswerRecord] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # name → extra occurrences (last one wins)
    conflicting_duplicates: list[str] = field(default_factory=list)  # duplicates whose values differ

    def field_map(self, name: str) -> dict[str, Any]:
        """``sample → value`` of one field (``text``, ``ov_labels``, ``sentiment``) for samples that have it."""
        return {n: getattr(r, name) for n, r in self.records.items() if getattr(r, name) is not None}

    def has(self, name: str) -> bool:
        return any(getattr(r, name) is not None for r in self.records.values())

    def merge(self, name: str, field_name: str, value: Any, **meta: Any) -> None:
        """Set one field of ``name``'s record (created when new); a second value counts as a duplicate."""
        record = self.records.get(name)
        if record is None:
            self.records[name] = record = AnswerRecord(name=name, **meta)
        elif getattr(record, field_name) is not None:
            self.duplicates[name] = self.duplicates.get(name, 0) + 1
            if getattr(record, field_name) != value:
                self.conflicting_duplicates.append(name)
        setattr(record, field_name, value)


def as_stored_labels(value: str | list[str]) -> str:
    """An OV label value as the string step B and the official files see (``[a, b]`` for a list)."""
    return value if isinstance(value, str) else "[" + ", ".join(value) + "]"
