"""``ovmer infer``: run AffectGPT over a whole split, batched, resumable, with progress.

Layout under ``out``:

    <dataset>/<task>/responses.jsonl    one {"name", "response", ...} per sample (ovmer format)
    <dataset>/<task>/run.json           model, config, decoding, counts, timing
    <dataset>/<task>/errors.jsonl       samples skipped with --skip-errors (if any)
    results[-description]-<dataset>/<run>/<checkpoint>.npz   official name2reason layout (§12.5)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.atomic import write_json_atomic
from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, OvmerError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.media_inputs import FaceDetectors, VideoInputs, existing_audio, load_video_inputs
from ovmer.inference.results import append_jsonl_records, read_jsonl_records, write_name2reason_npz
from ovmer.media.decode import DEFAULT_NUM_FRAMES
from ovmer.models.generation import DecodingSettings
from ovmer.progress import progress_bar


def _dataset_key(dataset_id: str) -> str:
    """One spelling per dataset: registry id (aliases resolved) or ``csv:`` + absolute path."""
    from ovmer.data.benchmarks import get_benchmark
    from ovmer.data.registry import CSV_PREFIX, is_manifest

    if is_manifest(dataset_id):
        return CSV_PREFIX + os.fspath(Path(dataset_id[len(CSV_PREFIX) :]).resolve())
    try:
        return get_benchmark(dataset_id).id
    except DatasetError:
        return dataset_id


#: (sample, visual kind) -> model inputs and the subtitle to use (None: the sample's own).
LoadFn = Callable[[Sample, str], tuple[VideoInputs, str | None]]


class SampleLoader:
    """Decodes one registry :class:`~ovmer.data.registry.Sample` for the model, or reads it from an
    ``ovmer prepare`` cache.

    From media: the dataset's wav when it exists, else the video's audio track (as ``prepare``); the
    official face array when it exists, else MediaPipe faces detected in the video (face model).
    From a cache (``prepared``): samples that ``prepare`` finished are loaded without decoding; its
    subtitle fills in a sample without one (``prepare --asr``). Other samples are decoded.
    """

    def __init__(self, prepared: str | os.PathLike[str] | None = None, dataset_id: str | None = None) -> None:
        self.prepared = None if prepared is None else Path(prepared)
        if self.prepared is not None:
            settings = self.prepared / "prepare.json"
            if not settings.is_file():
                raise DatasetError(
                    f"{self.prepared} is not an ovmer prepare cache (no prepare.json); run "
                    "`ovmer prepare ROOT --dataset ID --out CACHE` first or leave out --prepared"
                )
            cached = json.loads(settings.read_text(encoding="utf-8")).get("dataset")
            # Sample names repeat across datasets (MER2023 and MER2024 both have sample_00000xxx).
            if dataset_id and cached and _dataset_key(cached) != _dataset_key(dataset_id):
                raise DatasetError(
                    f"{self.prepared} holds a prepared {cached!r}, not {dataset_id!r}; give the cache of "
                    f"this dataset (ovmer prepare ROOT --dataset {dataset_id} --out CACHE)"
                )
        self.detectors = FaceDetectors()

    def __call__(self, sample: Sample, visual_kind: str) -> tuple[VideoInputs, str | None]:
        cached = self._from_cache(sample, visual_kind)
        if cached is not None:
            return cached
        face = (
            sample.face
            if visual_kind == "face" and sample.face is not None and sample.face.is_file()
            else None
        )
        inputs = load_video_inputs(
            sample.video,
            visual_kind=visual_kind,
            audio=existing_audio(sample.audio),
            faces=face,
            detector=self.detectors.get() if visual_kind == "face" and face is None else None,
        )
        return inputs, sample.subtitle

    def _from_cache(self, sample: Sample, visual_kind: str) -> tuple[VideoInputs, str | None] | None:
        from ovmer.data.prepare import is_done, load_prepared

        if self.prepared is None or not is_done(self.prepared, sample.name):
            return None
        item = load_prepared(self.prepared, sample.name)
        visual = item.faces if visual_kind == "face" else item.frames
        if visual is None or visual.shape[0] != DEFAULT_NUM_FRAMES:
            return None  # frames not saved, or another frame count: decode instead
        meta = item.meta
        inputs = VideoInputs(
            visual=visual,
            audio=item.audio_clips,
            visual_kind=visual_kind,
            num_source_frames=int(meta.get("num_video_frames", 0)),
            audio_seconds=float(meta.get("audio_samples", 0)) / 16000,
            face_source=meta.get("face_source") if visual_kind == "face" else None,
            face_found=meta.get("face_found") if visual_kind == "face" else None,
            audio_source=meta.get("audio_source"),
        )
        return inputs, sample.subtitle if sample.subtitle is not None else item.subtitle

    def close(self) -> None:
        self.detectors.close()


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
    samples: Sequence[Sample],
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
    load_fn: LoadFn | None = None,
    prepared: str | os.PathLike[str] | None = None,
    max_batches: int | None = None,
    workers: int = 4,
    dataset_id: str | None = None,
) -> InferSummary:
    """Generate a response for every sample not already in ``responses.jsonl``; write the npz at the end.

    Samples are batched in order of subtitle length; media of the next batch are decoded by
    ``workers`` threads while the model runs. ``max_batches`` stops early (used to simulate
    interruptions in tests and for quick checks). ``load_fn`` decodes a sample (default: a
    :class:`SampleLoader`, reading the ``ovmer prepare`` cache ``prepared`` when given; ``dataset_id``,
    the registry id or ``csv:PATH``, is checked against the dataset the cache was prepared from).
    """
    decoding = decoding or DecodingSettings()
    out = Path(out)
    task_dir = out / dataset.lower() / task
    jsonl = task_dir / "responses.jsonl"
    record = _run_record(engine, dataset, task, decoding)
    run_file = task_dir / "run.json"
    if run_file.is_file():
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
    todo.sort(key=lambda s: len(s.subtitle or ""))
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    if max_batches is not None:
        batches = batches[:max_batches]

    loader = SampleLoader(prepared, dataset_id) if load_fn is None else None
    load: LoadFn = load_fn if load_fn is not None else loader  # type: ignore[assignment]

    def decode_one(sample: Sample) -> tuple[VideoInputs, str | None] | OvmerError:
        try:
            return load(sample, visual_kind)
        except OvmerError as exc:
            if not skip_errors:
                raise OvmerError(f"{dataset}/{sample.name}: {exc}") from exc
            return exc

    progress = progress_bar(disable=not show_progress)
    # Media of the next batch are decoded by `workers` threads (PyAV/NumPy release the GIL) while
    # the model runs on the current one.
    try:
        with progress, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            bar = progress.add_task(f"{dataset} {task}", total=len(samples), completed=len(done))
            pending = [pool.submit(decode_one, s) for s in batches[0]] if batches else []
            for index, batch in enumerate(batches):
                decoded = [future.result() for future in pending]
                pending = (
                    [pool.submit(decode_one, s) for s in batches[index + 1]]
                    if index + 1 < len(batches)
                    else []
                )
                good = [(s, x) for s, x in zip(batch, decoded, strict=True) if isinstance(x, tuple)]
                bad = [(s, x) for s, x in zip(batch, decoded, strict=True) if not isinstance(x, tuple)]
                if bad:
                    append_jsonl_records(
                        task_dir / "errors.jsonl", ({"name": s.name, "error": str(x)} for s, x in bad)
                    )
                    skipped += len(bad)
                if good:
                    responses = engine.respond(
                        [x[0] for _, x in good], [x[1] for _, x in good], task, decoding
                    )
                    rows = [
                        {"name": s.name, "response": r.text, "dataset": dataset, "task": task}
                        for (s, _), r in zip(good, responses, strict=True)
                    ]
                    append_jsonl_records(jsonl, rows)
                    done.update({row["name"]: row["response"] for row in rows})
                    generated += len(rows)
                progress.update(bar, advance=len(batch))
    finally:
        if loader is not None:
            loader.close()
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
