"""``ovmer annotate filter``: the paper's low- and high-level filters over a described corpus.

Stages, in order, each on by default and switchable (:class:`FilterSettings`); a clip leaves at the
first stage that removes it, and ``filter.jsonl`` records ``kept`` or the stage and reason:

1. ``speaker`` — active speaker (:mod:`ovmer.annotate.speaker`): the visible person must be the one
   speaking; results are cached in ``speaker.jsonl`` (the expensive stage resumes);
2. ``length`` — description length in words outside the ``[low, high]`` quantiles of the clips that
   reach this stage (both tails, paper §2.2; quantiles are ours: 0.05 and 0.95 by default);
3. ``emotion`` — the classifiers' majority emotion must hit the description's OV labels
   (:mod:`ovmer.annotate.vote`);
4. ``sentiment`` — the classifiers' majority sentiment must equal the description's.

Labels come from the description by the extractor (step A, then step B on its list: the lexicon
offline, an LLM backend otherwise) into ``labels.jsonl``. The funnel (clips in, removed per stage,
clips out, label statistics) is written as ``funnel.json`` and ``funnel.md``; the corpus files are
then written by :func:`ovmer.annotate.corpus.write_corpus`, which applies the review decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.annotate.speaker import ActiveSpeakerCheck, LipSyncCheck
from ovmer.annotate.vote import MemberVotes, clip_tallies, read_votes
from ovmer.atomic import write_text_atomic
from ovmer.errors import AnnotationError
from ovmer.inference.runner import SAMPLE_ERRORS
from ovmer.labels.parse import string_to_list
from ovmer.progress import progress_bar
from ovmer.results.jsonl import append_json_lines
from ovmer.results.review import CLIPS_FILE, FILTER_FILE, LABELS_FILE, decide, latest_by_name, read_decisions

SPEAKER_FILE = "speaker.jsonl"
STAGES = ("speaker", "length", "emotion", "sentiment")


@dataclass(frozen=True)
class FilterSettings:
    """Which stages run and how (defaults: every stage, the thresholds of docs/annotate.md)."""

    speaker: bool = True
    length: bool = True
    emotion_vote: bool = True
    sentiment_vote: bool = True
    length_quantiles: tuple[float, float] = (0.05, 0.95)
    undecided: str = "remove"  # or "keep": a clip whose vote has no majority

    def check(self) -> None:
        """Raise :class:`~ovmer.errors.AnnotationError` for quantiles or an ``undecided`` that make no sense."""
        low, high = self.length_quantiles
        if not 0.0 <= low <= high <= 1.0:
            raise AnnotationError(f"length quantiles {self.length_quantiles}: need 0 <= LOW <= HIGH <= 1")
        if self.undecided not in ("remove", "keep"):
            raise AnnotationError(f"undecided must be 'remove' or 'keep', not {self.undecided!r}")

    def stages(self) -> list[str]:
        """The enabled stages, in order."""
        on = (self.speaker, self.length, self.emotion_vote, self.sentiment_vote)
        return [stage for stage, enabled in zip(STAGES, on, strict=True) if enabled]


@dataclass
class Verdict:
    """One clip's way through the filter: ``kept``, or the ``stage`` and ``reason`` that removed it."""

    name: str
    kept: bool = True
    stage: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def remove(self, stage: str, reason: str) -> None:
        self.kept, self.stage, self.reason = False, stage, reason


def description_length(text: str) -> int:
    """Words (whitespace-separated); a text without spaces (Chinese) counts its characters."""
    words = text.split()
    return len(words) if len(words) > 1 else len(text.strip())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def extract_labels(
    corpus: Path, clips: dict[str, dict[str, Any]], extractor: Any, show_progress: bool
) -> dict[str, dict[str, Any]]:
    """Step A and step B for every described clip, reusing ``labels.jsonl`` rows of the same
    description and extractor; new rows are appended. Returns name → row."""
    previous = latest_by_name(corpus / LABELS_FILE)
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str]] = []
    for name, clip in clips.items():
        text, old = clip["description"], previous.get(name)
        same = (
            old and old.get("description_sha256") == _sha(text) and old.get("extractor") == extractor.identity
        )
        if same and old is not None and "error" not in old:  # a failed extraction is tried again
            rows[name] = old
        else:
            todo.append((name, text))
    with progress_bar(disable=not show_progress) as progress:
        bar = progress.add_task("labels", total=len(todo))
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            ov = extractor.ovlabels([t for _, t in chunk])
            strings = [o if isinstance(o, str) else "[]" for o in ov]
            sentiments = extractor.sentiment(strings)
            new = []
            for (name, text), ov_string, sentiment in zip(chunk, ov, sentiments, strict=True):
                row: dict[str, Any] = {
                    "name": name,
                    "description_sha256": _sha(text),
                    "extractor": extractor.identity,
                }
                if isinstance(ov_string, Exception) or isinstance(sentiment, Exception):
                    row["error"] = str(ov_string if isinstance(ov_string, Exception) else sentiment)
                else:
                    row["ov_labels"] = ov_string
                    row["labels"] = [x.strip() for x in string_to_list(ov_string) if x.strip()]
                    row["sentiment"] = sentiment.strip().lower()
                new.append(row)
                rows[name] = row
            append_json_lines(corpus / LABELS_FILE, new)
            progress.update(bar, advance=len(chunk))
    return rows


def _speaker_stage(
    corpus: Path,
    clips: dict[str, dict[str, Any]],
    verdicts: dict[str, Verdict],
    check: ActiveSpeakerCheck,
    show_progress: bool,
) -> None:
    cached = {
        n: r for n, r in latest_by_name(corpus / SPEAKER_FILE).items() if r.get("check") == check.identity
    }
    alive = [n for n, v in verdicts.items() if v.kept]
    with progress_bar(disable=not show_progress) as progress:
        bar = progress.add_task("speaker", total=len(alive))
        for name in alive:
            row = cached.get(name)
            if row is None:
                clip = clips[name]
                try:
                    if not clip.get("video"):
                        raise AnnotationError("no video")
                    result = check.check(
                        Path(clip["video"]), Path(clip["audio"]) if clip.get("audio") else None
                    )
                    row = {
                        "name": name,
                        "check": check.identity,
                        "speaking": result.speaking,
                        "reason": result.reason,
                        "score": result.score,
                        "details": result.details,
                    }
                    append_json_lines(corpus / SPEAKER_FILE, [row])
                except SAMPLE_ERRORS as exc:  # removed with the reason, not cached: a rerun tries again
                    row = {"speaking": False, "reason": f"check failed: {type(exc).__name__}: {exc}"}
            verdicts[name].details["speaker"] = {k: row.get(k) for k in ("speaking", "score", "reason")}
            if row.get("speaking") is False:
                verdicts[name].remove("speaker", str(row.get("reason")))
            progress.update(bar, advance=1)


def _length_stage(
    clips: dict[str, dict[str, Any]], verdicts: dict[str, Verdict], quantiles: tuple[float, float]
) -> dict[str, float]:
    alive = [n for n, v in verdicts.items() if v.kept]
    if not alive:
        return {}
    lengths = {n: description_length(clips[n]["description"]) for n in alive}
    low, high = (float(np.quantile(list(lengths.values()), q)) for q in quantiles)
    for name, length in lengths.items():
        verdicts[name].details["length"] = length
        if length < low or length > high:
            verdicts[name].remove("length", f"{length} words outside [{low:.1f}, {high:.1f}]")
    return {"low": low, "high": high}


def _vote_stages(
    verdicts: dict[str, Verdict],
    labels: dict[str, dict[str, Any]],
    members: Sequence[MemberVotes],
    settings: FilterSettings,
    mapper: Any,
) -> None:
    from ovmer.metrics.hitrate import hit_or_not

    for name, verdict in verdicts.items():
        if not verdict.kept:
            continue
        row = labels.get(name, {})
        if "error" in row or not row:
            first = "emotion" if settings.emotion_vote else "sentiment"
            verdict.remove(first, f"label extraction failed: {row.get('error', 'no labels')}")
            continue
        emotion, sentiment = clip_tallies(name, members)
        verdict.details["vote"] = {"emotion": asdict(emotion), "sentiment": asdict(sentiment)}
        checks = [
            ("emotion", settings.emotion_vote, emotion),
            ("sentiment", settings.sentiment_vote, sentiment),
        ]
        for stage, enabled, result in checks:
            if not enabled:
                continue
            if result.winner is None:
                if settings.undecided == "remove":
                    verdict.remove(stage, f"vote undecided: {result.reason}")
                    break
                continue
            agrees = (
                hit_or_not([result.winner], row.get("labels", []), mapper)
                if stage == "emotion"
                else result.winner == row.get("sentiment")
            )
            if not agrees:
                said = row.get("labels") if stage == "emotion" else row.get("sentiment")
                verdict.remove(stage, f"description says {said}, the vote says {result.winner!r}")
                break


@dataclass
class FilterResult:
    """What :func:`filter_corpus` decided: a verdict per clip, the funnel, the length cut-offs."""

    verdicts: dict[str, Verdict]
    funnel: dict[str, Any]


def _funnel(
    clips_in: int, failed: int, settings: FilterSettings, verdicts: dict[str, Verdict], labels: dict[str, dict[str, Any]],
    cutoffs: dict[str, float], members: int,
) -> dict[str, Any]:  # fmt: skip
    """Clips in, removed per stage (with reasons), clips out, label-count statistics of the kept."""
    stages = []
    remaining = clips_in
    for stage in settings.stages():
        removed = [v for v in verdicts.values() if v.stage == stage]
        reasons: dict[str, int] = {}
        for v in removed:
            key = (v.reason or "").split(" (score")[0].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        stages.append({"stage": stage, "in": remaining, "removed": len(removed), "reasons": reasons})
        remaining -= len(removed)
    kept = [n for n, v in verdicts.items() if v.kept]
    counts = [len(labels.get(n, {}).get("labels", [])) for n in kept]
    distinct: dict[str, int] = {}
    for name in kept:
        for label in labels.get(name, {}).get("labels", []):
            distinct[label.lower()] = distinct.get(label.lower(), 0) + 1
    sentiments: dict[str, int] = {}
    for name in kept:
        key = str(labels.get(name, {}).get("sentiment"))
        sentiments[key] = sentiments.get(key, 0) + 1
    return {
        "clips_in": clips_in,
        "failed_description": failed,
        "stages": stages,
        "clips_out": len(kept),
        "vote_members": members,
        "length_cutoffs": cutoffs,
        "labels": {
            "distinct": len(distinct),
            "per_clip_mean": round(float(np.mean(counts)), 3) if counts else 0.0,
            "per_clip_max": max(counts, default=0),
            "empty": sum(1 for c in counts if c == 0),
            "top": sorted(distinct.items(), key=lambda kv: (-kv[1], kv[0]))[:20],
            "sentiment": sentiments,
        },
        "settings": asdict(settings),
    }


def review_counts(corpus: Path, verdicts: dict[str, Verdict]) -> dict[str, int]:
    """How the review decisions change the filter's verdicts (:func:`ovmer.results.review.decide`):
    decisions, clips brought back, left out, relabelled, and the clips the corpus will hold."""
    decisions = read_decisions(corpus)
    counts = {"decisions": 0, "brought_back": 0, "rejected": 0, "edited": 0, "corpus_out": 0}
    for name, verdict in verdicts.items():
        decision = decisions.get(name)
        keep, _ = decide(verdict.kept, [], decision)
        counts["corpus_out"] += keep
        if decision is None:
            continue
        counts["decisions"] += 1
        counts["brought_back"] += keep and not verdict.kept
        counts["rejected"] += verdict.kept and not keep
        counts["edited"] += decision.decision == "edit"
    return counts


def funnel_markdown(funnel: dict[str, Any]) -> str:
    """The funnel as a Markdown table plus the label statistics."""
    lines = [
        "# Annotation funnel",
        "",
        "| stage | clips in | removed | reasons |",
        "| --- | ---: | ---: | --- |",
    ]
    for stage in funnel["stages"]:
        reasons = "; ".join(f"{k}: {v}" for k, v in stage["reasons"].items()) or "—"
        lines.append(f"| {stage['stage']} | {stage['in']} | {stage['removed']} | {reasons} |")
    labels = funnel["labels"]
    lines += [
        "",
        f"Clips described: {funnel['clips_in']} (failed descriptions: {funnel['failed_description']}); "
        f"clips out: **{funnel['clips_out']}**.",
        "",
        "Review: {decisions} decisions ({brought_back} brought back, {rejected} rejected, {edited} relabelled); "
        "clips in the corpus: **{corpus_out}**.".format(**funnel["review"]),
        "",
        f"Labels of the kept clips: {labels['distinct']} distinct, {labels['per_clip_mean']} per clip on average "
        f"(max {labels['per_clip_max']}, {labels['empty']} clips without a label); sentiment {labels['sentiment']}.",
        "",
        "Most frequent: " + (", ".join(f"{k} ({v})" for k, v in labels["top"]) or "—"),
        "",
    ]
    return "\n".join(lines)


def filter_corpus(
    corpus: str | Path,
    *,
    votes: Sequence[Path] = (),
    settings: FilterSettings | None = None,
    extractor: Any = None,
    speaker_check: ActiveSpeakerCheck | None = None,
    mapper: Any = None,
    show_progress: bool = True,
) -> FilterResult:
    """Run the enabled stages over every described clip; write ``labels.jsonl``, ``filter.jsonl``,
    ``funnel.json`` and ``funnel.md`` (see the module docstring).

    Args:
        corpus: the folder ``annotate describe`` wrote.
        votes: one predictions CSV per voting classifier (needed when a vote stage is on).
        settings: stages and thresholds.
        extractor: a :class:`~ovmer.llm.extractor.LabelExtractor` (default: the lexicon).
        speaker_check: the active-speaker detector (default: :class:`LipSyncCheck`).
        mapper: a :class:`~ovmer.labels.mapping.LabelMapper` (default: from the emotion-wheel assets).

    Raises:
        AnnotationError: no ``clips.jsonl``, or a vote stage on without vote files.
    """
    from ovmer.atomic import write_json_atomic

    corpus = Path(corpus)
    settings = settings or FilterSettings()
    settings.check()
    if not (corpus / CLIPS_FILE).is_file():
        raise AnnotationError(
            f"{corpus / CLIPS_FILE}: not found (run `ovmer annotate describe ... --out {corpus}` first)"
        )
    if (settings.emotion_vote or settings.sentiment_vote) and not votes:
        raise AnnotationError(
            "the vote stages need --votes A.csv [B.csv ...] (or switch them off with --no-vote)"
        )
    members = (
        [read_votes(Path(p)) for p in votes] if (settings.emotion_vote or settings.sentiment_vote) else []
    )
    all_clips = latest_by_name(corpus / CLIPS_FILE)
    clips = {n: c for n, c in all_clips.items() if c.get("description")}
    extractor, mapper = _defaults(extractor, mapper)
    labels = extract_labels(corpus, clips, extractor, show_progress)
    verdicts = {name: Verdict(name) for name in clips}
    cutoffs: dict[str, float] = {}
    if settings.speaker:
        _speaker_stage(corpus, clips, verdicts, speaker_check or LipSyncCheck(), show_progress)
    if settings.length:
        cutoffs = _length_stage(clips, verdicts, settings.length_quantiles)
    if settings.emotion_vote or settings.sentiment_vote:
        _vote_stages(verdicts, labels, members, settings, mapper)
    funnel = _funnel(
        len(clips), len(all_clips) - len(clips), settings, verdicts, labels, cutoffs, len(members)
    )
    funnel["review"] = review_counts(corpus, verdicts)
    write_text_atomic(corpus / FILTER_FILE, "".join(_json_line(asdict(v)) for v in verdicts.values()))
    write_json_atomic(corpus / "funnel.json", funnel)
    write_text_atomic(corpus / "funnel.md", funnel_markdown(funnel))
    return FilterResult(verdicts, funnel)


def _json_line(row: dict[str, Any]) -> str:
    import json

    return json.dumps(row, ensure_ascii=False) + "\n"


def _defaults(extractor: Any, mapper: Any) -> tuple[Any, Any]:
    if extractor is None or mapper is None:
        from ovmer.assets import load_wheel_maps
        from ovmer.labels.mapping import LabelMapper

        maps = load_wheel_maps()
        if extractor is None:
            from ovmer.llm.lexicon import LexiconExtractor

            extractor = LexiconExtractor(maps)
        mapper = mapper or LabelMapper(maps)
    return extractor, mapper
