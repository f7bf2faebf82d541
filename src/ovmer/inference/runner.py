"""``ovmer infer``: run AffectGPT over a whole split, batched, resumable, with progress.

Layout under ``out``:

    <dataset>/<task>/responses.jsonl    one {"name", "response", ...} per sample (ovmer format)
    <dataset>/<task>/run.json           model, config, decoding, counts, timing
    <dataset>/<task>/errors.jsonl       samples skipped with --skip-errors (if any)
    results[-description]-<dataset>/<run>/<checkpoint>.npz   official name2reason layout (§12.5)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.atomic import write_json_atomic
from ovmer.errors import DatasetError, OvmerError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.media_inputs import VideoInputs, load_video_inputs
from ovmer.inference.results import append_jsonl_records, read_jsonl_records, write_name2reason_npz
from ovmer.inference.samples import InferenceSample
from ovmer.models.generation import DecodingSettings

LoadFn = Callable[[InferenceSample, str], VideoInputs]


def load_sample(sample: InferenceSample, visual_kind: str) -> VideoInputs:
    """Decode one sample's media for the model's visual input kind."""
    return load_video_inputs(sample.video, visual_kind=visual_kind, audio=sample.audio, faces=sample.faces)


@dataclass
class InferSummary:
    """What one ``infer`` call did."""

    total: int
    already_done: int
    generated: int
    skipped: int
    seconds: float
    jsonl: Path
    npz: Path | None

    @property
    def samples_per_second(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def official_npz_path(out: Path, dataset: str, task: str, run_name: str, checkpoint_name: str) -> Path:
    """``results-<dataset>/<run>/<ckpt>.npz`` (OV) or ``results-description-<dataset>/…`` (§12.5)."""
    base = "results" if task == "ovlabels" else "results-description"
    return out / f"{base}-{dataset.lower()}" / run_name / f"{checkpoint_name}.npz"


def _run_record(
    engine: AffectGPTEngine, dataset: str, task: str, decoding: DecodingSettings
) -> dict[str, Any]:
    return {
        "model": engine.source,
        "config": engine.model.config.name,
        "dataset": dataset,
        "task": task,
        "decoding": decoding.describe(),
    }


def infer_split(
    engine: AffectGPTEngine,
    samples: Sequence[InferenceSample],
    out: str | Path,
    *,
    dataset: str,
    task: str = "ovlabels",
    decoding: DecodingSettings | None = None,
    batch_size: int = 8,
    run_name: str = "ovmer",
    checkpoint_name: str = "model",
    skip_errors: bool = False,
    show_progress: bool = True,
    load_fn: LoadFn = load_sample,
    max_batches: int | None = None,
    workers: int = 4,
) -> InferSummary:
    """Generate a response for every sample not already in ``responses.jsonl``; write the npz at the end.

    Samples are batched in order of subtitle length; media of the next batch are decoded by
    ``workers`` threads while the model runs. ``max_batches`` stops early (used to simulate
    interruptions in tests and for quick checks).
    """
    decoding = decoding or DecodingSettings()
    out = Path(out)
    task_dir = out / dataset.lower() / task
    jsonl = task_dir / "responses.jsonl"
    record = _run_record(engine, dataset, task, decoding)
    run_file = task_dir / "run.json"
    if run_file.is_file():
        import json

        previous = json.loads(run_file.read_text(encoding="utf-8"))
        mismatched = {k: (previous.get(k), v) for k, v in record.items() if previous.get(k) != v}
        if mismatched:
            raise DatasetError(
                f"{task_dir} holds results of a different run {mismatched}; use another --out to keep both"
            )
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise DatasetError(f"{dataset}: duplicate sample names in the split")
    done = {r["name"]: r["response"] for r in read_jsonl_records(jsonl) if r.get("name") in set(names)}
    todo = [s for s in samples if s.name not in done]
    visual_kind = engine.model.config.visual_input
    write_json_atomic(run_file, {**record, "total": len(samples), "done": len(done)})

    started = time.perf_counter()
    generated = skipped = 0
    # Similar prompt lengths in one batch waste less compute on padding; results do not depend on it.
    todo.sort(key=lambda s: len(s.subtitle))
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    if max_batches is not None:
        batches = batches[:max_batches]

    def decode_one(sample: InferenceSample) -> VideoInputs | OvmerError:
        try:
            return load_fn(sample, visual_kind)
        except OvmerError as exc:
            if not skip_errors:
                raise OvmerError(f"{dataset}/{sample.name}: {exc}") from exc
            return exc

    progress = _make_progress(show_progress)
    # Media of the next batch are decoded by `workers` threads (PyAV/NumPy release the GIL) while
    # the model runs on the current one.
    with progress, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        bar = progress.add_task(f"{dataset} {task}", total=len(samples), completed=len(done))
        pending = [pool.submit(decode_one, s) for s in batches[0]] if batches else []
        for index, batch in enumerate(batches):
            decoded = [future.result() for future in pending]
            pending = (
                [pool.submit(decode_one, s) for s in batches[index + 1]] if index + 1 < len(batches) else []
            )
            good = [(s, x) for s, x in zip(batch, decoded, strict=True) if isinstance(x, VideoInputs)]
            bad = [(s, x) for s, x in zip(batch, decoded, strict=True) if not isinstance(x, VideoInputs)]
            if bad:
                append_jsonl_records(
                    task_dir / "errors.jsonl", ({"name": s.name, "error": str(x)} for s, x in bad)
                )
                skipped += len(bad)
            if good:
                responses = engine.respond(
                    [x for _, x in good], [s.subtitle for s, _ in good], task, decoding
                )
                rows = [
                    {"name": s.name, "response": r.text, "dataset": dataset, "task": task}
                    for (s, _), r in zip(good, responses, strict=True)
                ]
                append_jsonl_records(jsonl, rows)
                done.update({row["name"]: row["response"] for row in rows})
                generated += len(rows)
            progress.update(bar, advance=len(batch))
    seconds = time.perf_counter() - started
    npz = None
    if all(s.name in done for s in samples):
        npz = official_npz_path(out, dataset, task, run_name, checkpoint_name)
        write_name2reason_npz(npz, {s.name: done[s.name] for s in samples})
    write_json_atomic(
        run_file,
        {
            **record,
            "total": len(samples),
            "done": len(done),
            "skipped": skipped,
            "last_call_seconds": round(seconds, 3),
        },
    )
    return InferSummary(len(samples), len(samples) - len(todo), generated, skipped, seconds, jsonl, npz)


def _make_progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
