"""Verify a user's copy of a dataset before spending hours on it (``ovmer data check``).

Finds, and names file by file: missing, empty or unreadable videos, wavs and face arrays
(``N = 0`` face arrays included, docs/datasets.md, 'Upstream file facts'); label rows without media and media
without labels; sample counts against the benchmark's test size; transcripts that are not UTF-8,
lack the column, lack rows, or contain replacement characters. Errors make the command exit
non-zero; warnings are things ``ovmer prepare`` can work around (it detects faces when the
official arrays are absent, and reads audio from the video when the wav is absent).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ovmer.data.benchmarks import BenchmarkDataset, get_benchmark
from ovmer.data.registry import (
    CSV_PREFIX,
    Sample,
    all_labelled_names,
    benchmark_samples,
    dataset_folder,
    is_manifest,
    iter_media_names,
    manifest_samples,
    read_dataset_subtitles,
)
from ovmer.errors import DatasetError, InputFormatError, MediaError

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding. ``kind`` is a stable machine-readable tag (see :data:`KINDS`)."""

    severity: str  # "error" or "warning"
    kind: str
    message: str
    sample: str | None = None
    path: str | None = None


#: Every problem kind the checker can report, with its meaning.
KINDS: dict[str, str] = {
    "label_file": "the label file is missing or unreadable",
    "subtitle_file": "the transcript file is missing, not UTF-8 or lacks the column",
    "subtitle_missing": "a labelled sample has no transcript row",
    "subtitle_encoding": "a transcript contains U+FFFD replacement characters (mis-decoded text)",
    "subtitle_empty": "transcript cells that are empty/NaN (read as '' as upstream)",
    "count": "the number of labelled samples differs from the benchmark's test size",
    "video_missing": "no video file for a labelled sample",
    "video_empty": "a video file has 0 bytes",
    "video_unreadable": "a video file cannot be opened, has no video stream or no frames",
    "audio_missing": "no wav for a sample (prepare falls back to the video's audio track)",
    "audio_unreadable": "a wav/audio file is empty or cannot be decoded",
    "no_audio": "no wav and the video has no audio track",
    "face_missing": "no official face array (prepare detects faces; an error with --require-faces)",
    "face_invalid": "a face array is unreadable, empty (N = 0) or not uint8 [N, h, w, 3]",
    "media_without_label": "a video in the dataset folder has no label in any split",
    "description_missing": "the description file has no (or an empty) description for a sample",
}


@dataclass
class CheckReport:
    """Result of :func:`check_dataset`."""

    dataset: str
    root: str
    split: str
    num_samples: int
    expected_samples: int | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """Number of problems per kind."""
        return dict(Counter(p.kind for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "root": self.root,
            "split": self.split,
            "num_samples": self.num_samples,
            "expected_samples": self.expected_samples,
            "ok": self.ok,
            "num_errors": len(self.errors),
            "num_warnings": len(self.warnings),
            "counts": self.counts(),
            "problems": [asdict(p) for p in self.problems],
        }


def _description_problems(folder: Path, dataset: BenchmarkDataset, samples: list[Sample]) -> list[Problem]:
    """Samples without a description when the dataset's ``track3_*.csv`` is present (a warning:
    training uses only the OV-label task for them)."""
    if dataset.description_file is None or not (folder / dataset.description_file).is_file():
        return []
    path = os.fspath(folder / dataset.description_file)
    return [
        Problem(
            WARNING, "description_missing", "no description (row missing or empty)", sample=s.name, path=path
        )
        for s in samples
        if s.description is None
    ]


def _check_video(path: Path | None, deep: bool) -> tuple[Problem | None, bool]:
    """(problem, has_audio_track)."""
    if path is None or not path.is_file():
        return Problem(ERROR, "video_missing", "video file not found", path=_s(path)), False
    if path.stat().st_size == 0:
        return Problem(ERROR, "video_empty", "video file is empty (0 bytes)", path=_s(path)), False
    if not deep:
        return None, True
    from ovmer.media.decode import probe_video

    try:
        info = probe_video(path)
    except MediaError as exc:
        return Problem(ERROR, "video_unreadable", _reason(exc, path), path=_s(path)), False
    if info.num_frames == 0:
        return Problem(ERROR, "video_unreadable", "video stream has 0 frames", path=_s(path)), False
    return None, info.has_audio


def _check_audio(path: Path, deep: bool) -> Problem | None:
    if path.stat().st_size == 0:
        return Problem(ERROR, "audio_unreadable", "audio file is empty (0 bytes)", path=_s(path))
    if not deep:
        return None
    import av

    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.audio:
                return Problem(ERROR, "audio_unreadable", "file has no audio stream", path=_s(path))
            next(container.decode(container.streams.audio[0]), None)
    except (av.error.FFmpegError, OSError) as exc:
        return Problem(ERROR, "audio_unreadable", f"cannot decode audio ({exc})", path=_s(path))
    return None


def _check_face(path: Path) -> Problem | None:
    from ovmer.media.inputs import read_face_array

    try:
        read_face_array(path, mmap=True)  # the reader the model uses: the same checks
    except MediaError as exc:
        message = str(exc).removeprefix(f"{path}: ")
        return Problem(ERROR, "face_invalid", message, path=_s(path))
    return None


def _s(path: Path | None) -> str | None:
    return None if path is None else os.fspath(path)


def _reason(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def check_samples(
    samples: list[Sample],
    *,
    deep: bool = True,
    require_faces: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Problem]:
    """Per-sample media checks (``deep`` opens every file with PyAV; otherwise existence/size only).

    ``require_faces`` makes a missing official face array an error (fidelity evaluation of the face
    model needs OpenFace's crops, docs/datasets.md) instead of a warning.
    """
    problems: list[Problem] = []
    for sample in samples:
        found: list[Problem] = []
        if sample.video is None and sample.face is not None:
            # A face-array + wav sample (manifest without video): complete for the face model.
            video_problem, video_has_audio = None, False
            if sample.audio is None:
                found.append(Problem(ERROR, "no_audio", "no video and no audio column", path=_s(sample.face)))
        else:
            video_problem, video_has_audio = _check_video(sample.video, deep)
        if video_problem is not None:
            found.append(video_problem)
        if sample.audio is not None:
            if sample.audio.is_file():
                audio_problem = _check_audio(sample.audio, deep)
                if audio_problem is not None:
                    found.append(audio_problem)
            elif video_problem is None and not video_has_audio:
                found.append(
                    Problem(
                        ERROR, "no_audio", "no wav and the video has no audio track", path=_s(sample.audio)
                    )
                )
            else:
                fallback = (
                    "the video's audio track will be used" if video_problem is None else "no video either"
                )
                found.append(
                    Problem(WARNING, "audio_missing", f"wav not found; {fallback}", path=_s(sample.audio))
                )
        elif sample.video is not None and video_problem is None and deep and not video_has_audio:
            found.append(Problem(ERROR, "no_audio", "the video has no audio track", path=_s(sample.video)))
        if sample.face is not None:
            if sample.face.is_file():
                face_problem = _check_face(sample.face)
                if face_problem is not None:
                    found.append(face_problem)
            else:
                found.append(
                    Problem(
                        ERROR if require_faces or sample.video is None else WARNING,
                        "face_missing",
                        "official face array not found; prepare will detect faces"
                        if sample.video is not None
                        else "face array not found and no video to detect faces in",
                        path=_s(sample.face),
                    )
                )
        problems.extend(
            Problem(p.severity, p.kind, p.message, sample=sample.name, path=p.path) for p in found
        )
        if progress is not None:
            progress(1)
    return problems


def _check_chunk(samples: list[Sample], deep: bool, require_faces: bool) -> list[Problem]:
    return check_samples(samples, deep=deep, require_faces=require_faces)


def check_samples_parallel(
    samples: list[Sample],
    *,
    workers: int,
    deep: bool = True,
    require_faces: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Problem]:
    """:func:`check_samples` over ``workers`` processes (chunks of 64 samples), in sample order.

    Why: a deep check opens every file (~10 ms per sample), about 45 s for CMU-MOSEI on one core.
    """
    if workers <= 1 or len(samples) < 128:
        return check_samples(samples, deep=deep, require_faces=require_faces, progress=progress)
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    chunks = [samples[i : i + 64] for i in range(0, len(samples), 64)]
    results: dict[int, list[Problem]] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_check_chunk, chunk, deep, require_faces): i for i, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            if progress is not None:
                progress(len(chunks[index]))
    return [problem for i in range(len(chunks)) for problem in results[i]]


def _subtitle_problems(folder: Path, dataset: BenchmarkDataset, samples: list[Sample]) -> list[Problem]:
    if dataset.subtitle_file is None:
        return []
    try:
        subtitles = read_dataset_subtitles(folder, dataset)
    except InputFormatError as exc:
        return [Problem(ERROR, "subtitle_file", str(exc), path=os.fspath(folder / dataset.subtitle_file))]
    path = os.fspath(folder / dataset.subtitle_file)
    problems = [
        Problem(ERROR, "subtitle_missing", f"no row in {dataset.subtitle_file}", sample=s.name, path=path)
        for s in samples
        if s.name not in subtitles
    ]
    names = {s.name for s in samples}
    empty = [n for n in names if subtitles.get(n) == ""]
    if empty:
        problems.append(
            Problem(
                WARNING,
                "subtitle_empty",
                f"{len(empty)} sample(s) have an empty transcript (read as ''), e.g. {sorted(empty)[:3]}",
                path=path,
            )
        )
    problems.extend(
        Problem(
            WARNING, "subtitle_encoding", "transcript contains U+FFFD (mis-decoded text)", sample=n, path=path
        )
        for n in sorted(names)
        if "\ufffd" in subtitles.get(n, "")
    )
    return problems


def check_dataset(
    root: str | os.PathLike[str] | None,
    dataset_id: str,
    split: str = "test",
    *,
    deep: bool = True,
    require_faces: bool = False,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CheckReport:
    """Check a dataset copy (registered id under ``root``, or ``csv:PATH``) and return every finding.

    ``progress``/``on_total`` let a caller drive a progress bar (total = number of samples).
    """
    if is_manifest(dataset_id):
        samples = manifest_samples(dataset_id[len(CSV_PREFIX) :])
        report = CheckReport(dataset_id, os.fspath(root) if root else "", "all", len(samples), None)
        if on_total is not None:
            on_total(len(samples))
        report.problems.extend(
            check_samples_parallel(
                samples, workers=workers, deep=deep, require_faces=require_faces, progress=progress
            )
        )
        return report
    if root is None:
        raise DatasetError(f"{dataset_id}: a dataset root folder is needed")
    dataset = get_benchmark(dataset_id)
    folder = dataset_folder(root, dataset)
    report = CheckReport(
        dataset.id, os.fspath(folder), split, 0, dataset.test_size if split == "test" else None
    )
    try:
        samples = benchmark_samples(folder, dataset, split, require_subtitles=False)
    except (InputFormatError, DatasetError) as exc:
        report.problems.append(
            Problem(ERROR, "label_file", str(exc), path=os.fspath(folder / dataset.label_file))
        )
        return report
    report.num_samples = len(samples)
    if report.expected_samples is not None and len(samples) != report.expected_samples:
        report.problems.append(
            Problem(
                ERROR,
                "count",
                f"{len(samples)} {split} samples, but {dataset.id} has {report.expected_samples}",
                path=os.fspath(folder / dataset.label_file),
            )
        )
    report.problems.extend(_subtitle_problems(folder, dataset, samples))
    report.problems.extend(_description_problems(folder, dataset, samples))
    if on_total is not None:
        on_total(len(samples))
    report.problems.extend(
        check_samples_parallel(
            samples, workers=workers, deep=deep, require_faces=require_faces, progress=progress
        )
    )
    if dataset.face_layout == "flat":
        # MER-UniBench folders hold the media of every split; a video whose name is in no split is
        # suspicious (renamed or stray file). The MER2025 release holds far more clips than any one
        # label file, so it is not checked this way.
        labelled = all_labelled_names(folder, dataset)
        report.problems.extend(
            Problem(WARNING, "media_without_label", "video has no label in any split", sample=n, path=_s(p))
            for n, p in iter_media_names(folder, dataset)
            if n not in labelled
        )
    return report
