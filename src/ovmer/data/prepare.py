"""``ovmer prepare``: turn a whole dataset into model-ready inputs in a cache folder.

Each sample goes through the one inputs builder (:func:`ovmer.media.inputs.build_model_inputs`) and
is stored by :class:`ovmer.media.cache.InputsCache` (its docstring gives the layout), so ``infer``,
``bench`` and ``features extract`` read back exactly what they would have decoded. This module runs
the samples (in worker processes, surviving crashes), records failures and resumes.

A run holds ``CACHE/.lock`` (``flock``, released by the kernel when the process dies, so never stale):
a second ``prepare`` on the same folder is refused instead of doing all the work again. Worker
processes die with the parent (``PR_SET_PDEATHSIG`` on Linux, a polling thread elsewhere), and
SIGTERM stops the run as Ctrl-C does: the pool is shut down and finished samples are kept.

When the dataset ships official OpenFace arrays they are used (what the checkpoints were trained on)
and only their path is recorded; ``faces="detect"`` forces ovmer's detector.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ovmer.atomic import atomic_open, write_json_atomic
from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, InputStageError, OvmerError
from ovmer.media.cache import InputsCache, safe_sample_name
from ovmer.media.inputs import FACE_MODES, FaceDetectors


@dataclass(frozen=True)
class PrepareConfig:
    """Settings that change the cache content (recorded in ``prepare.json``)."""

    n_frames: int = 8  # frames the released models see (docs/model.md)
    crop_size: int = 112  # OpenFace's aligned size
    faces: str = "auto"  # auto: official array when present, else detect; detect; official (required)
    save_frames: bool = True
    asr: bool = False  # transcribe when the dataset has no subtitle
    asr_model: str | None = None
    language: str | None = None


#: Records one finished sample: ``(name, meta or None, error row or None)``.
RecordResult = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]
#: Prepares the samples still to do into the cache elsewhere (a Ray cluster, :mod:`ovmer.cluster`),
#: calling ``record`` once per sample: ``executor(todo, out, config, record)``.
PrepareExecutor = Callable[[Sequence[Sample], Path, PrepareConfig, RecordResult], None]


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


class PrepareWorker:
    """Per-process state: the face detector (MediaPipe graphs cannot cross processes). One per worker
    process (here, a pool worker, or a Ray actor of :mod:`ovmer.cluster`)."""

    def __init__(self, config: PrepareConfig, threads: int) -> None:
        self.config = config
        self.threads = threads
        self.detectors = FaceDetectors(crop_size=config.crop_size)  # created on first detection

    def run(self, sample: Sample, out: Path) -> dict[str, Any]:
        """Build one sample's inputs and store them; a failure is raised as :class:`_SampleFailure`."""
        from ovmer.media.asr import transcriber
        from ovmer.media.inputs import build_model_inputs

        config = self.config
        name = safe_sample_name(sample.name)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        try:
            inputs = build_model_inputs(
                sample.media(),
                "both",
                faces=config.faces,
                detector=self.detectors,
                asr=transcriber(config.asr_model, config.language, max(self.threads, 1))
                if config.asr
                else None,
                n_frames=config.n_frames,
                crop_size=config.crop_size,
                threads=self.threads,
            )
            # CPU seconds of this process for the sample: robust to other load on a shared machine.
            inputs.timings["cpu_s"] = time.process_time() - cpu_start
            inputs.timings["total_s"] = time.perf_counter() - wall_start
            extra = {
                "split": sample.split,
                "label": sample.label,
                "description": sample.description,
                "video": None if sample.video is None else os.fspath(sample.video),
            }
            return InputsCache(out).write(name, inputs, save_frames=config.save_frames, extra=extra)
        except InputStageError as exc:
            cause = exc.cause
            detail = (
                str(cause)
                if isinstance(cause, OvmerError)
                else "".join(traceback.format_exception_only(type(cause), cause)).strip()
            )
            raise _SampleFailure(exc.stage, type(cause).__name__, detail) from exc
        except Exception as exc:  # one bad sample must never end the run: record it with its trace
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            raise _SampleFailure("cache", type(exc).__name__, detail) from exc


class _SampleFailure(Exception):
    def __init__(self, stage: str, error: str, message: str) -> None:
        super().__init__(message)
        self.stage, self.error, self.message = stage, error, message


_WORKER: PrepareWorker | None = None


def _init_worker(config: PrepareConfig, parent_pid: int | None = None) -> None:
    global _WORKER  # per-process state in a worker process, set once by the pool initializer
    from ovmer.media.threads import single_thread_mode

    # Ctrl-C goes to the whole process group: let the parent stop the pool and keep what is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(os.getppid() if parent_pid is None else parent_pid)

    # One busy thread per worker, so N workers scale on N cores: BLAS/OpenMP, OpenCV (here) and
    # FFmpeg (threads=1 below) would otherwise each start a thread per core (see ovmer.media.threads).
    single_thread_mode()
    _WORKER = PrepareWorker(config, threads=1)


#: How often a worker checks that its parent is alive where ``PR_SET_PDEATHSIG`` is not available.
PARENT_POLL_SECONDS = 0.5


def _die_with_parent(parent_pid: int) -> None:
    """End this worker as soon as the ``prepare`` process that started it dies (even by SIGKILL).

    A pool worker holds ~300 MB and would go on writing into the cache of a run that no longer
    exists. On Linux the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
    a daemon thread polling ``os.getppid()`` covers other systems and the race where the parent died
    before the ``prctl`` call.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1  # <linux/prctl.h>
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ovmer-parent-watch", daemon=True).start()


def _run_in_worker(sample: Sample, out: str) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    assert _WORKER is not None
    return prepare_sample(_WORKER, sample, Path(out))


def prepare_sample(
    worker: PrepareWorker, sample: Sample, out: Path
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """Prepare one sample into the cache ``out``: ``(name, meta, None)`` or ``(name, None, error)``
    (the ``errors.jsonl`` row); never raises for a bad sample."""
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
    executor: PrepareExecutor | None = None,
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
        executor: runs the samples still to do elsewhere (default: here, or a process pool); the
            lock, resume, ``errors.jsonl`` and manifest stay here, so the files are the same.

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
        safe_sample_name(sample.name)
    with _cache_lock(out), _sigterm_as_interrupt():
        return _prepare_locked(samples, out, dataset, config, workers, on_total, on_result, executor)


def _prepare_locked(
    samples: Sequence[Sample],
    out: Path,
    dataset: str,
    config: PrepareConfig,
    workers: int,
    on_total: Callable[[int, int], None] | None,
    on_result: Callable[[str, bool], None] | None,
    executor: PrepareExecutor | None = None,
) -> PrepareSummary:
    _check_settings(out, config, dataset)
    cache = InputsCache(out)
    cache.remove_stale_temporaries()
    started = time.perf_counter()
    summary = PrepareSummary(total=len(samples))
    todo = [s for s in samples if not cache.is_done(s.name)]
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
        if executor is not None:
            executor(todo, out, config, record)
        elif workers == 1:
            from ovmer.media.threads import blas_single_thread

            worker = PrepareWorker(config, threads=0)
            try:
                with blas_single_thread():  # spinning BLAS helpers cost ~80 ms CPU per clip, for nothing
                    for sample in todo:
                        record(*prepare_sample(worker, sample, out))
            finally:
                worker.detectors.close()
        else:
            _run_pool(todo, out, config, workers, record)
    finally:
        write_manifest(out, samples)
        summary.seconds = time.perf_counter() - started
    return summary


LOCK_FILE = ".lock"


@contextlib.contextmanager
def _cache_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the run; a second ``prepare`` on the folder gets a :class:`DatasetError`.

    ``flock`` locks belong to the open file, so the kernel drops the lock when the process dies: a
    killed run never leaves a stale lock. Spawned workers do not inherit the descriptor. Without
    ``fcntl`` (Windows) the run goes on unlocked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(out / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise DatasetError(
                f"another ovmer prepare (pid {holder}) is running on {out}; wait for it to finish, "
                "or use another --out folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`KeyboardInterrupt` during the run, so ``kill`` stops it as Ctrl-C
    does (the pool is shut down, finished samples and the manifest are kept). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
            initargs=(config, os.getpid()),
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
    cache = InputsCache(out)
    rows = [meta for meta in (cache.read_meta(s.name) for s in samples) if meta is not None]
    _write_jsonl(out / "manifest.jsonl", rows)
    return len(rows)
