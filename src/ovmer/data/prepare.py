"""``ovmer prepare``: turn a whole dataset into model-ready inputs in a cache folder.

Cache layout (every file written to a temporary name and renamed, so a killed run never leaves a
half-written file; a sample is *done* once its ``meta/<name>.json`` exists, which is written last)::

    CACHE/
      prepare.json                 settings of the run (a resumed run must use the same ones)
      frames/<name>.npy            uint8 [8, 224, 224, 3] RGB   (spec affectgpt-model §4.1)
      openface_face/<name>.npy     uint8 [8, 112, 112, 3] BGR   detected faces, upstream layout (§4.2)
      audio/<name>.npy             float32 [8, 32000]           8 clips of 2 s at 16 kHz (§4.3)
      meta/<name>.json             subtitle, label, sources, face-found mask, timings
      manifest.jsonl               one line per finished sample (rewritten at the end of a run)
      errors.jsonl                 one line per sample that failed in the last run, with the reason

When the dataset ships official OpenFace arrays they are used (what the checkpoints were trained on)
and only their path is recorded; ``faces="detect"`` forces ovmer's detector.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.atomic import atomic_open, write_json_atomic
from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, OvmerError

FACE_MODES = ("auto", "detect", "official")


@dataclass(frozen=True)
class PrepareConfig:
    """Settings that change the cache content (recorded in ``prepare.json``)."""

    n_frames: int = 8  # spec affectgpt-model §4.1
    crop_size: int = 112  # OpenFace's aligned size
    faces: str = "auto"  # auto: official array when present, else detect; detect; official (required)
    save_frames: bool = True
    asr: bool = False  # transcribe when the dataset has no subtitle
    asr_model: str | None = None
    language: str | None = None


@dataclass
class PrepareSummary:
    """Counts of one ``prepare`` run."""

    total: int = 0
    done: int = 0  # prepared in this run
    skipped: int = 0  # already in the cache (resume)
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass
class PreparedSample:
    """A cached sample loaded back for the model (shapes as in :class:`ovmer.media.ClipInputs`)."""

    name: str
    frames: np.ndarray | None  # uint8 [T, 224, 224, 3] RGB (None when frames were not saved)
    faces: np.ndarray  # uint8 [T, 224, 224, 3] BGR
    audio_clips: np.ndarray  # float32 [8, 32000]
    subtitle: str | None
    label: Any
    meta: dict[str, Any]


def _safe_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise DatasetError(f"sample name {name!r} cannot be used as a file name")
    return name


def _save_npy(path: Path, array: np.ndarray) -> int:
    """Write ``array`` to ``path`` via a temporary file + rename; returns the byte size.

    No fsync: cache entries are reproducible, and fsync cost ~15 ms per file (as much as the face
    detector). A kill leaves only a hidden temporary; after a power loss a renamed file could be
    short, which :func:`is_done` catches by comparing the sizes recorded in the meta file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            size = handle.tell()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    # The commit marker of a sample: temp + rename like the arrays (no fsync, see _save_npy); a
    # truncated meta file fails to parse and the sample is simply prepared again.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _meta_path(out: Path, name: str) -> Path:
    return out / "meta" / f"{name}.json"


def is_done(out: Path, name: str) -> bool:
    """True when the sample's meta file and every file it lists exist."""
    meta_file = _meta_path(out, name)
    if not meta_file.is_file():
        return False
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sizes: dict[str, int] = meta.get("file_sizes", {})
    for key in ("frames_file", "face_file", "audio_file"):
        name_ = meta.get(key)
        if name_ is None:
            continue
        path = out / name_ if not Path(name_).is_absolute() else Path(name_)
        if not path.is_file() or (name_ in sizes and path.stat().st_size != sizes[name_]):
            return False
    return True


class _Worker:
    """Per-process state: the face detector (MediaPipe graphs cannot cross processes)."""

    def __init__(self, config: PrepareConfig, threads: int) -> None:
        self.config = config
        self.threads = threads
        self._detector: Any = None

    def detector(self) -> Any:
        if self._detector is None:
            from ovmer.media.faces import FaceDetector

            self._detector = FaceDetector(crop_size=self.config.crop_size)
        return self._detector

    def run(self, sample: Sample, out: Path) -> dict[str, Any]:
        from ovmer.media.audio import audio_clips, load_audio, model_audio
        from ovmer.media.decode import read_clip
        from ovmer.media.faces import faces_for_model

        config = self.config
        name = _safe_name(sample.name)
        timings: dict[str, float] = {}
        sizes: dict[str, int] = {}
        stage = "video"
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        try:
            start = time.perf_counter()
            if sample.video is None:
                raise DatasetError("the sample has no video path")
            use_wav = sample.audio is not None and sample.audio.is_file()
            # One pass over the container: frames, and the audio track unless a wav is given.
            clip = read_clip(sample.video, config.n_frames, with_audio=not use_wav, threads=self.threads)
            sampled, indices, info = clip.frames, clip.indices, clip.info
            timings["decode_s"] = time.perf_counter() - start

            stage = "faces"
            start = time.perf_counter()
            official = sample.face is not None and sample.face.is_file() and config.faces != "detect"
            if config.faces == "official" and not official:
                raise DatasetError(f"official face array not found: {sample.face}")
            face_record: dict[str, Any]
            if official:
                assert sample.face is not None
                faces = np.load(sample.face, allow_pickle=False)
                faces_for_model(faces, config.n_frames, source=os.fspath(sample.face))  # validates N > 0
                face_record = {"face_source": "openface", "face_file": os.fspath(sample.face)}
            else:
                track = self.detector().track(sampled)
                face_rel = f"openface_face/{name}.npy"
                sizes[face_rel] = _save_npy(out / face_rel, track.crops)
                face_record = {
                    "face_source": "detected",
                    "face_file": face_rel,
                    "face_found": track.found.tolist(),
                    "face_detector": track.sources,
                }
            timings["faces_s"] = time.perf_counter() - start

            frames_rel = None
            if config.save_frames:
                frames_rel = f"frames/{name}.npy"
                sizes[frames_rel] = _save_npy(out / frames_rel, clip.model_frames)

            stage = "audio"
            start = time.perf_counter()
            if use_wav:
                assert sample.audio is not None
                audio_source: Path = sample.audio
                waveform = load_audio(sample.audio)
            elif clip.audio is not None:
                audio_source = sample.video
                waveform = model_audio(clip.audio, clip.audio_rate)
            else:
                raise DatasetError(
                    f"no audio: {sample.audio or 'no wav given'} does not exist and the video has no audio track"
                )
            audio_rel = f"audio/{name}.npy"
            sizes[audio_rel] = _save_npy(out / audio_rel, audio_clips(waveform))
            timings["audio_s"] = time.perf_counter() - start

            stage = "subtitle"
            subtitle, subtitle_source = sample.subtitle, "dataset" if sample.subtitle is not None else None
            if subtitle is None and config.asr:
                from ovmer.media.asr import transcribe

                start = time.perf_counter()
                subtitle = transcribe(
                    waveform, model=config.asr_model, language=config.language, threads=max(self.threads, 1)
                )
                subtitle_source = "asr"
                timings["asr_s"] = time.perf_counter() - start

            # CPU seconds of this process for the sample: robust to other load on a shared machine.
            timings["cpu_s"] = time.process_time() - cpu_start
            timings["total_s"] = time.perf_counter() - wall_start
            meta = {
                "name": name,
                "split": sample.split,
                "label": sample.label,
                "description": sample.description,
                "subtitle": subtitle,
                "subtitle_source": subtitle_source,
                "video": os.fspath(sample.video),
                "audio_source": os.fspath(audio_source),
                "num_video_frames": info.num_frames,
                "frame_indices": indices,
                "audio_samples": int(waveform.shape[0]),
                "frames_file": frames_rel,
                "audio_file": audio_rel,
                "file_sizes": sizes,
                **face_record,
                "timings": timings,
            }
            _write_meta(_meta_path(out, name), meta)
            return meta
        except OvmerError as exc:
            raise _SampleFailure(stage, type(exc).__name__, str(exc)) from exc
        except Exception as exc:  # one bad sample must never end the run: record it with its trace
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            raise _SampleFailure(stage, type(exc).__name__, detail) from exc


class _SampleFailure(Exception):
    def __init__(self, stage: str, error: str, message: str) -> None:
        super().__init__(message)
        self.stage, self.error, self.message = stage, error, message


_WORKER: _Worker | None = None


def _init_worker(config: PrepareConfig) -> None:
    global _WORKER  # per-process state in a worker process, set once by the pool initializer
    import signal

    from ovmer.media.threads import single_thread_mode

    # Ctrl-C goes to the whole process group: let the parent stop the pool and keep what is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # One busy thread per worker, so N workers scale on N cores: BLAS/OpenMP, OpenCV (here) and
    # FFmpeg (threads=1 below) would otherwise each start a thread per core (see ovmer.media.threads).
    single_thread_mode()
    _WORKER = _Worker(config, threads=1)


def _run_in_worker(sample: Sample, out: str) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    assert _WORKER is not None
    return _run(_WORKER, sample, Path(out))


def _run(
    worker: _Worker, sample: Sample, out: Path
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    try:
        return sample.name, worker.run(sample, out), None
    except _SampleFailure as failure:
        return (
            sample.name,
            None,
            {
                "name": sample.name,
                "video": None if sample.video is None else os.fspath(sample.video),
                "stage": failure.stage,
                "error": failure.error,
                "message": failure.message,
            },
        )


def _check_settings(out: Path, config: PrepareConfig, dataset: str) -> None:
    settings_file = out / "prepare.json"
    settings = {"dataset": dataset, "config": asdict(config)}
    if settings_file.is_file():
        previous = json.loads(settings_file.read_text(encoding="utf-8"))
        if previous.get("dataset") not in (None, "", dataset) and dataset:
            raise DatasetError(
                f"{out} holds a prepared {previous.get('dataset')!r}, not {dataset!r}; use a new --out folder"
            )
        if previous.get("config") != settings["config"]:
            raise DatasetError(
                f"{out} was prepared with other settings ({previous.get('config')}); use a new --out folder "
                "or the same options to resume"
            )
    write_json_atomic(settings_file, settings)


def _remove_stale_temporaries(out: Path) -> None:
    # A killed run (SIGKILL, power loss) can leave atomic-write temporaries behind; they are never
    # mistaken for results (a sample counts as done only through its meta file) but waste space.
    for sub in ("frames", "openface_face", "audio", "meta", "."):
        folder = out / sub
        if folder.is_dir():
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def prepare_dataset(
    samples: Sequence[Sample],
    out: str | os.PathLike[str],
    *,
    dataset: str = "",
    config: PrepareConfig | None = None,
    workers: int = 1,
    on_total: Callable[[int, int], None] | None = None,
    on_result: Callable[[str, bool], None] | None = None,
) -> PrepareSummary:
    """Prepare every sample not yet in the cache; record failures and go on.

    Args:
        samples: what to prepare (see :func:`ovmer.data.registry.load_samples`).
        out: the cache folder (created).
        dataset: id recorded in ``prepare.json``.
        config: cache settings; a resumed run must use the same ones.
        workers: processes; 1 runs in this process (FFmpeg may then use several threads).
        on_total: called once with ``(to_do, already_done)``.
        on_result: called per finished sample with ``(name, ok)``.

    Returns:
        a :class:`PrepareSummary`; ``errors.jsonl`` lists this run's failures and ``manifest.jsonl``
        every finished sample of ``samples``.
    """
    config = config or PrepareConfig()
    if config.faces not in FACE_MODES:
        raise DatasetError(f"faces must be one of {FACE_MODES}, got {config.faces!r}")
    if workers < 1:
        raise DatasetError(f"workers must be ≥ 1, got {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        _safe_name(sample.name)
    _check_settings(out, config, dataset)
    _remove_stale_temporaries(out)
    started = time.perf_counter()
    summary = PrepareSummary(total=len(samples))
    todo = [s for s in samples if not is_done(out, s.name)]
    summary.skipped = len(samples) - len(todo)
    if on_total is not None:
        on_total(len(todo), summary.skipped)

    def record(name: str, meta: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
        if error is None:
            summary.done += 1
        else:
            summary.failed += 1
            summary.errors.append(error)
            _write_jsonl(out / "errors.jsonl", summary.errors)
        if on_result is not None:
            on_result(name, error is None)

    _write_jsonl(out / "errors.jsonl", [])
    try:
        if workers == 1:
            from ovmer.media.threads import blas_single_thread

            worker = _Worker(config, threads=0)
            try:
                with blas_single_thread():  # spinning BLAS helpers cost ~80 ms CPU per clip, for nothing
                    for sample in todo:
                        record(*_run(worker, sample, out))
            finally:
                if worker._detector is not None:
                    worker._detector.close()
        else:
            _run_pool(todo, out, config, workers, record)
    finally:
        write_manifest(out, samples)
        summary.seconds = time.perf_counter() - started
    return summary


#: A sample in flight when a worker process dies is retried this many times before it is recorded as
#: failed (the pool cannot tell which in-flight sample killed it).
CRASH_RETRIES = 1


def _run_pool(
    todo: Sequence[Sample],
    out: Path,
    config: PrepareConfig,
    workers: int,
    record: Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None],
) -> None:
    """Prepare ``todo`` in ``workers`` spawned processes, surviving native crashes.

    A crash in native code (FFmpeg, MediaPipe) kills a worker and breaks the whole pool; the samples
    in flight are then retried in a fresh pool, and one that keeps crashing is recorded as failed, so
    the run still goes on.
    """
    queue = deque(todo)
    crashes: Counter[str] = Counter()
    while queue:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(config,),
        ) as pool:
            try:
                _drain(pool, queue, crashes, out, workers, record)
            except KeyboardInterrupt:
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _drain(
    pool: ProcessPoolExecutor,
    queue: deque[Sample],
    crashes: Counter[str],
    out: Path,
    workers: int,
    record: Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None],
) -> None:
    """Run ``queue`` through one pool until it is empty or the pool breaks (then return)."""
    pending: dict[Future[Any], Sample] = {}
    broken = False
    while True:
        while queue and len(pending) < 2 * workers and not broken:
            sample = queue.popleft()
            pending[pool.submit(_run_in_worker, sample, os.fspath(out))] = sample
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            sample = pending.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                broken = True
                crashes[sample.name] += 1
                if crashes[sample.name] > CRASH_RETRIES:
                    record(sample.name, None, _crash_record(sample))
                else:
                    queue.appendleft(sample)
                continue
            record(*result)


def _crash_record(sample: Sample) -> dict[str, Any]:
    return {
        "name": sample.name,
        "video": None if sample.video is None else os.fspath(sample.video),
        "stage": "worker",
        "error": "WorkerCrash",
        "message": "the worker process died (a crash in native decoding/detection code) while preparing "
        "this sample, also on retry; try it alone with --workers 1 to see the crash",
    }


def write_manifest(out: Path, samples: Sequence[Sample]) -> int:
    """Rewrite ``manifest.jsonl`` from the meta files of the finished samples; returns the row count."""
    rows = []
    for sample in samples:
        meta_file = _meta_path(out, sample.name)
        if meta_file.is_file():
            rows.append(json.loads(meta_file.read_text(encoding="utf-8")))
    _write_jsonl(out / "manifest.jsonl", rows)
    return len(rows)


def load_prepared(cache: str | os.PathLike[str], name: str, n_frames: int = 8) -> PreparedSample:
    """Load one prepared sample in model form (faces resized to 224 and sampled per spec §4.2).

    Raises:
        DatasetError: the sample is not in the cache.
    """
    from ovmer.media.faces import faces_for_model

    cache = Path(cache)
    meta_file = _meta_path(cache, _safe_name(name))
    if not meta_file.is_file():
        raise DatasetError(f"{name}: not prepared in {cache} (no {meta_file}); run ovmer prepare first")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    face_file = Path(meta["face_file"])
    face_file = face_file if face_file.is_absolute() else cache / face_file
    faces = faces_for_model(np.load(face_file, allow_pickle=False), n_frames, source=os.fspath(face_file))
    frames = np.load(cache / meta["frames_file"]) if meta.get("frames_file") else None
    return PreparedSample(
        name=name,
        frames=frames,
        faces=faces,
        audio_clips=np.load(cache / meta["audio_file"]),
        subtitle=meta.get("subtitle"),
        label=meta.get("label"),
        meta=meta,
    )
