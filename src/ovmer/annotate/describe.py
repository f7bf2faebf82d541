"""``ovmer annotate describe``: per clip an acoustic clue, a visual clue and a merged description.

Pipeline (paper §2.1; docs/annotate.md, 'Describe'):

1. the audio clue model and the video clue model (any :func:`ovmer.inference.model_table.build_answer_model`
   spec) answer every clip through the one batched runner (:func:`ovmer.inference.runner.run_answers`):
   resumable, one bad clip recorded in the runner's ``errors.jsonl`` while the run goes on. When both
   specs are equal the model runs once and each role reads its part of the answer;
2. the clues are merged with the subtitle by the paper's instruction, in the branch the clip's clues
   allow (:mod:`ovmer.annotate.prompts`), by an LLM (an extractor backend spec) or by rules;
3. each clip becomes one line of ``clips.jsonl`` (:mod:`ovmer.results.review` names the file); a
   later line replaces an earlier one.

A clip is done when its line has a description and no clue error; a rerun retries the failed clue
models (the runner does) and re-merges only those clips.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ovmer.annotate.prompts import MERGE_TEMPLATES, merge_branch, merge_by_rules, merge_values
from ovmer.data.registry import Sample
from ovmer.errors import AnnotationError
from ovmer.inference.protocol import AnswerModel
from ovmer.inference.runner import RUN_FILE, RunSummary, guard_run_folder, run_answers
from ovmer.progress import progress_bar
from ovmer.results.jsonl import append_json_lines
from ovmer.results.record import AnswerRecord
from ovmer.results.review import CLIPS_FILE, latest_by_name

#: The offline merge backend's name (any other ``--merge`` is an extractor backend spec).
RULES_MERGE = "rules"
#: Clips merged (and appended to ``clips.jsonl``) at a time: an interrupted merge loses at most these.
MERGE_CHUNK = 32
#: The roles of the two clue models and the clue-engine sections each reads.
ROLE_SECTIONS = {"audio": ("voice",), "video": ("face",)}

Merger = Callable[[list[dict[str, Any]]], list[str | Exception]]


@dataclass
class DescribeSummary:
    """What one :func:`describe_corpus` call did (counts of clips)."""

    corpus: Path
    total: int
    already_done: int = 0
    described: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    partial: dict[str, dict[str, str]] = field(default_factory=dict)  # described without a clue
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Counts, failures and clue errors, for the CLI's ``--json`` and the run log."""
        return {
            "corpus": str(self.corpus),
            "total": self.total,
            "already_done": self.already_done,
            "described": self.described,
            "failed": self.failed,
            "clue_errors": self.partial,
            "seconds": round(self.seconds, 3),
        }


def clue_text(record: AnswerRecord | None, role: str) -> str | None:
    """The clue one role takes from a clue model's answer (``None``: no answer).

    The offline clue engine answers from face, voice and words at once; each role reads its own
    part of the engine's clues (the face for ``video``, the voice for ``audio``), rendered by the
    engine's own sentence rules. Any other model's answer is the clue as a whole, on one line.
    """
    if record is None or record.error or not (record.text or "").strip():
        return None
    clues = (record.details or {}).get("clues")
    if isinstance(clues, dict) and {"face", "voice"} <= set(clues):
        from ovmer.clues import rules

        sections = ROLE_SECTIONS[role]
        part = {key: clues[key] for key in sections}
        if role == "video" and not clues["face"].get("frames"):
            return None  # an audio-only file: no visual clue, the merge takes the audio branch
        return rules.describe(part, rules.ov_labels(part), sections=sections)
    from ovmer.baselines.prompts import clean_answer

    return clean_answer(record.text or "")


def _transcript(record: AnswerRecord | None) -> str:
    """What the clue engine heard when the clip has no subtitle (its Whisper transcript), else ``""``."""
    clues = (record.details or {}).get("clues") if record is not None else None
    speech = clues.get("speech", {}) if isinstance(clues, dict) else {}
    text = speech.get("text") if speech.get("source") not in (None, "subtitle", "none") else None
    return text.strip() if isinstance(text, str) else ""


def _prompt_hash(record: AnswerRecord | None) -> str | None:
    details = (record.details or {}) if record is not None else {}
    value = details.get("question_sha256") or details.get("prompt_sha256")
    return value if isinstance(value, str) else None


def build_merger(spec: str, max_tokens: int | None = None) -> tuple[Merger, str]:
    """The merge function of ``--merge`` and its identity.

    ``rules`` concatenates by branch (:func:`~ovmer.annotate.prompts.merge_by_rules`); any extractor
    backend spec (``hf:ID``, ``openai:URL#MODEL``, ``cache:IDENTITY``) runs the branch's template
    through :class:`~ovmer.llm.extractor.LLMExtractor` (reply cache, upstream's post-processing).
    """
    if spec == RULES_MERGE:

        def by_rules(rows: list[dict[str, Any]]) -> list[str | Exception]:
            return [merge_by_rules(r["audio_clue"], r["visual_clue"], r["subtitle"]) for r in rows]

        return by_rules, "rules:v1"
    from ovmer.llm.extractor import LLMExtractor
    from ovmer.llm.run import build_extractor

    extractor = build_extractor(spec, max_tokens=max_tokens)
    if not isinstance(extractor, LLMExtractor):
        raise AnnotationError(
            f"--merge {spec!r}: use 'rules' or an LLM backend (hf:ID, openai:URL#MODEL, cache:ID)"
        )

    def by_llm(rows: list[dict[str, Any]]) -> list[str | Exception]:
        results: list[str | Exception] = [RuntimeError("not merged")] * len(rows)
        for branch, template in MERGE_TEMPLATES.items():
            indices = [i for i, r in enumerate(rows) if r["branch"] == branch]
            values = [
                merge_values(rows[i]["audio_clue"], rows[i]["visual_clue"], rows[i]["subtitle"])
                for i in indices
            ]
            for index, outcome in zip(indices, extractor.complete(template, values), strict=True):
                results[index] = outcome
        return results

    return by_llm, extractor.identity


def _run_clue_models(
    specs: dict[str, str], samples: Sequence[Sample], corpus: Path, dataset: str, *, show_progress: bool,
    ray: str | None, build: Callable[[str], AnswerModel],
) -> dict[str, RunSummary]:  # fmt: skip
    """Each distinct clue model once over the samples, in ``clue_answers/<role>`` (``shared`` when
    both roles use one spec); role → the run's summary."""
    shared = specs["audio"] == specs["video"]
    plan = {"shared": specs["audio"]} if shared else dict(specs)
    runs: dict[str, RunSummary] = {}
    for key, spec in plan.items():
        folder, task = corpus / "clue_answers" / key, "clues" if shared else f"{key}_clue"
        if ray is not None:
            from ovmer.cluster.answers import run_answers_on_ray
            from ovmer.cluster.recipe import SpecRecipe

            runs[key] = run_answers_on_ray(
                SpecRecipe(spec), samples, folder, dataset=dataset, task=task, address=ray,
                show_progress=show_progress,
            )  # fmt: skip
            continue
        model = build(spec)
        try:
            runs[key] = run_answers(
                model, samples, folder, dataset=dataset, task=task, show_progress=show_progress
            )
        finally:
            model.close()
    return {role: runs["shared" if shared else role] for role in ("audio", "video")}


def _identity(run: RunSummary) -> str:
    """The model identity a clue run recorded (``run.json``), the same locally and on Ray."""
    return str(json.loads((run.folder / RUN_FILE).read_text(encoding="utf-8"))["identity"])


def _clip_row(sample: Sample, runs: dict[str, RunSummary], identities: dict[str, str]) -> dict[str, Any]:
    """A clip's line before the merge: its clues, what failed, the merge branch and provenance."""
    records = {role: runs[role].records.get(sample.name) for role in ("audio", "video")}
    audio, visual = clue_text(records["audio"], "audio"), clue_text(records["video"], "video")
    errors = {role: runs[role].failures[sample.name] for role in runs if sample.name in runs[role].failures}
    return {
        "name": sample.name,
        "video": None if sample.video is None else str(sample.video),
        "audio": None if sample.audio is None else str(sample.audio),
        "subtitle": sample.subtitle or _transcript(records["audio"]) or _transcript(records["video"]),
        "audio_clue": audio,
        "visual_clue": visual,
        "branch": merge_branch(audio, visual),
        "clue_errors": errors,
        "provenance": {
            "audio_model": identities["audio"],
            "video_model": identities["video"],
            "audio_prompt_sha256": _prompt_hash(records["audio"]),
            "video_prompt_sha256": _prompt_hash(records["video"]),
        },
    }


def _merge_rows(
    rows: list[dict[str, Any]], merger: Merger, merge_identity: str, summary: DescribeSummary, corpus: Path,
    show_progress: bool,
) -> None:  # fmt: skip
    """Merge in chunks, appending each chunk's lines to ``clips.jsonl`` (progress: counts and ETA)."""
    with progress_bar(disable=not show_progress) as progress:
        bar = progress.add_task("merge", total=len(rows))
        for start in range(0, len(rows), MERGE_CHUNK):
            chunk = rows[start : start + MERGE_CHUNK]
            mergeable = [r for r in chunk if r["audio_clue"] or r["visual_clue"] or r["subtitle"]]
            for row in chunk:
                if not (row["audio_clue"] or row["visual_clue"] or row["subtitle"]):
                    row["error"] = "no clue and no subtitle: nothing to describe"
            for row, outcome in zip(mergeable, merger(mergeable) if mergeable else [], strict=True):
                if isinstance(outcome, Exception) or not outcome.strip():
                    row["error"] = f"merge failed: {outcome or 'empty reply'}"
                    continue
                row["description"] = outcome.strip()
                row["provenance"]["merge"] = merge_identity
                row["provenance"]["merge_prompt_sha256"] = (
                    MERGE_TEMPLATES[row["branch"]].sha256 if merge_identity != "rules:v1" else None
                )
            for row in chunk:
                if "error" in row:
                    summary.failed[row["name"]] = row["error"]
                else:
                    summary.described += 1
                    if row["clue_errors"]:
                        summary.partial[row["name"]] = row["clue_errors"]
            append_json_lines(corpus / CLIPS_FILE, chunk)
            progress.update(bar, advance=len(chunk))


def is_done(row: dict[str, Any] | None) -> bool:
    """A clip needs no more work: described, and no clue model failed on it."""
    return bool(row and row.get("description") and not row.get("clue_errors"))


def describe_corpus(
    samples: Sequence[Sample],
    corpus: str | Path,
    *,
    audio_model: str,
    video_model: str,
    merge: str = RULES_MERGE,
    merge_max_tokens: int | None = None,
    source: str = "samples",
    show_progress: bool = True,
    build_model: Callable[[str], AnswerModel] | None = None,
    ray: str | None = None,
) -> DescribeSummary:
    """Describe every clip of ``samples`` into the corpus folder (see the module docstring).

    Args:
        samples: the clips (from :func:`ovmer.data.registry.load_samples`; names unique).
        corpus: the corpus folder (created; resumed when it exists).
        audio_model, video_model: clue model specs (``clues``, ``hf:…``, ``openai:…``).
        merge: ``rules`` or an LLM backend spec.
        merge_max_tokens: the merge LLM's answer budget (default: the extractor's, 512).
        source: the dataset id or CSV the samples came from (recorded; must match on resume).
        build_model: spec → model (default :func:`ovmer.inference.model_table.build_answer_model`).
        ray: run the clue models on a Ray cluster (``auto`` or ``HOST:PORT``) by
            :func:`ovmer.cluster.answers.run_answers_on_ray`: the same files as a local run.

    Raises:
        DatasetError: the folder holds a corpus built with other models or from another source.
    """
    from ovmer.inference.model_table import build_answer_model

    corpus = Path(corpus)
    started = time.perf_counter()
    guard_run_folder(
        corpus,
        {
            "audio_model": audio_model,
            "video_model": video_model,
            "merge": merge,
            "merge_max_tokens": merge_max_tokens,
            "source": source,
        },
    )
    done = {n for n, row in latest_by_name(corpus / CLIPS_FILE).items() if is_done(row)}
    summary = DescribeSummary(corpus, total=len(samples))
    todo = [s for s in samples if s.name not in done]
    summary.already_done = len(samples) - len(todo)
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    merger, merge_identity = build_merger(merge, merge_max_tokens)
    specs = {"audio": audio_model, "video": video_model}
    runs = _run_clue_models(
        specs,
        todo,
        corpus,
        source,
        show_progress=show_progress,
        ray=ray,
        build=build_model or build_answer_model,
    )
    identities = {role: _identity(runs[role]) for role in runs}
    rows = [_clip_row(sample, runs, identities) for sample in todo]
    _merge_rows(rows, merger, merge_identity, summary, corpus, show_progress)
    summary.seconds = time.perf_counter() - started
    return summary
