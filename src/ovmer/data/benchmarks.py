"""One definition per benchmark dataset: where its labels live and how it is scored.

See docs/datasets.md, 'Registered datasets' and 'Upstream file facts', and docs/scoring.md, 'Pipeline'
(families and metrics; upstream ``AffectGPT/evaluation.py``). Dataset ids are ovmer's public names;
``result_dir`` is the upstream ``results-<name>`` folder name (``iemocapfour`` for IEMOCAP).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ovmer.errors import DatasetError


class Family(str, enum.Enum):
    """How a dataset is scored (docs/scoring.md, 'Pipeline')."""

    DISCRETE = "discrete"  # one emotion label → hit rate over five wheels
    SENTIMENT = "sentiment"  # continuous valence → WAF on positive vs non-positive
    OPENSET = "openset"  # OV label lists → set precision / recall / F


@dataclass(frozen=True)
class BenchmarkDataset:
    """A benchmark test set. Paths are relative to the dataset's processed folder."""

    id: str
    title: str
    family: Family
    folder: str  # the official ``*-process`` folder name (or the MER2025 release folder)
    label_file: str
    split_key: str | None  # npz key of the test split (None for CSV label files)
    test_size: int
    result_dir: str  # upstream ``results-<result_dir>``
    label_names: tuple[str, ...] = ()  # integer label → name (MELD, IEMOCAP)
    val_split_key: str | None = None  # a validation split for the clean protocol's checkpoint choice
    name_filter: str | None = None  # "session5": IEMOCAP test = names whose 5th character is '5'
    subtitle_file: str | None = None
    subtitle_column: str | None = None
    video_dirs: tuple[str, ...] = ("video",)
    audio_dir: str = "audio"
    face_dir: str = "openface_face"
    main_metric: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # Media layout (docs/datasets.md, 'Registered datasets'). "flat": openface_face/<name>.npy (MER-UniBench
    # folders); "nested": openface_face/<name>/<name>.npy (MER2025 release).
    face_layout: str = "flat"
    video_exts: tuple[str, ...] = (".mp4", ".avi")  # tried in this order (upstream: .mp4 first)
    # Where the sample list comes from when the label file is absent (MER2025 Track 2 candidates).
    names_file: str | None = None
    # Training-only sets are listed but not scored on MER-UniBench.
    scored: bool = True
    # ``name, reason`` descriptions (MER2025 track 3 files; docs/datasets.md), read when present.
    description_file: str | None = None

    @property
    def subtitle_language(self) -> str:
        """Language of the subtitle column the benchmark's loader reads.

        See docs/datasets.md, 'Upstream file facts'.
        """
        return "zh" if self.subtitle_column == "chinese" else "en"


_MER_LABELS = "neutral, angry, happy, sad, worried, surprise"

BENCHMARKS: dict[str, BenchmarkDataset] = {
    d.id: d
    for d in [
        BenchmarkDataset(
            "mer2023",
            "MER2023 (test1)",
            Family.DISCRETE,
            "mer2023-dataset-process",
            "label-6way.npz",
            "test1_corpus",
            411,
            "mer2023",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            main_metric="hit_rate",
        ),
        BenchmarkDataset(
            "mer2024",
            "MER2024 (test1)",
            Family.DISCRETE,
            "mer2024-dataset-process",
            "label-6way.npz",
            "test1_corpus",
            1169,
            "mer2024",
            subtitle_file="transcription_merge.csv",
            subtitle_column="chinese",
            main_metric="hit_rate",
        ),
        BenchmarkDataset(
            "meld",
            "MELD (test)",
            Family.DISCRETE,
            "meld-process",
            "label.npz",
            "test_corpus",
            2610,
            "meld",
            label_names=("anger", "joy", "sadness", "neutral", "disgust", "fear", "surprise"),
            val_split_key="val_corpus",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            video_dirs=("subvideo",),
            audio_dir="subaudio",
            main_metric="hit_rate",
        ),
        BenchmarkDataset(
            "iemocap",
            "IEMOCAP 4-way (Session 5)",
            Family.DISCRETE,
            "iemocap-process",
            "label_4way.npz",
            "whole_corpus",
            1241,
            "iemocapfour",
            label_names=("happy", "sad", "neutral", "anger"),
            name_filter="session5",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            video_dirs=("subvideo-tgt",),
            video_exts=(".avi", ".mp4"),
            audio_dir="subaudio",
            main_metric="hit_rate",
            aliases=("iemocapfour",),
        ),
        BenchmarkDataset(
            "cmumosi",
            "CMU-MOSI (test)",
            Family.SENTIMENT,
            "cmumosi-process",
            "label.npz",
            "test_corpus",
            686,
            "cmumosi",
            val_split_key="val_corpus",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            video_dirs=("subvideo",),
            audio_dir="subaudio",
            main_metric="waf",
        ),
        BenchmarkDataset(
            "cmumosei",
            "CMU-MOSEI (test)",
            Family.SENTIMENT,
            "cmumosei-process",
            "label.npz",
            "test_corpus",
            4659,
            "cmumosei",
            val_split_key="val_corpus",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            video_dirs=("subvideo_new",),
            audio_dir="subaudio",
            main_metric="waf",
        ),
        BenchmarkDataset(
            "sims",
            "CH-SIMS (test)",
            Family.SENTIMENT,
            "sims-process",
            "label.npz",
            "test_corpus",
            457,
            "sims",
            val_split_key="val_corpus",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            main_metric="waf",
        ),
        BenchmarkDataset(
            "simsv2",
            "CH-SIMS v2 (test)",
            Family.SENTIMENT,
            "simsv2-process",
            "label.npz",
            "test_corpus",
            1034,
            "simsv2",
            val_split_key="val_corpus",
            subtitle_file="transcription-engchi-polish.csv",
            subtitle_column="english",
            video_dirs=("video_new",),
            main_metric="waf",
        ),
        BenchmarkDataset(
            "ovmerdplus",
            "OV-MERD+",
            Family.OPENSET,
            "ovmerdplus-process",
            "ovlabel.csv",
            None,
            532,
            "ovmerdplus",
            subtitle_file="subtitle_eng.csv",
            subtitle_column="sentence",
            main_metric="unibench_l1_f",
        ),
        BenchmarkDataset(
            "ovmerd",
            "OV-MERD (OV-MER benchmark)",
            Family.OPENSET,
            "mer2025-dataset",
            "track2_train_ovmerd.csv",
            None,
            332,
            "ovmerd",
            subtitle_file="subtitle_chieng.csv",
            subtitle_column="english",
            main_metric="ovmer_m_avg",
            face_layout="nested",
            description_file="track3_train_ovmerd.csv",
        ),
        BenchmarkDataset(
            "mer2025ov",
            "MER2025 Track 2",
            Family.OPENSET,
            "mer2025-dataset",
            "track2_test.csv",
            None,
            20000,
            "mer2025ov",
            subtitle_file="subtitle_chieng.csv",
            subtitle_column="english",
            main_metric="mer2025_score",
            face_layout="nested",
            names_file="track_all_candidates.csv",
        ),
        BenchmarkDataset(
            "mercaptionplus",
            "MER-Caption+ (training set)",
            Family.OPENSET,
            "mer2025-dataset",
            "track2_train_mercaptionplus.csv",
            None,
            31327,
            "mercaptionplus",
            subtitle_file="subtitle_chieng.csv",
            subtitle_column="english",
            face_layout="nested",
            scored=False,
            description_file="track3_train_mercaptionplus.csv",
        ),
    ]
}

#: The nine MER-UniBench datasets in the paper's column order (upstream ``AffectGPT/evaluation.py``).
UNIBENCH_IDS: tuple[str, ...] = (
    "mer2023", "mer2024", "meld", "iemocap", "cmumosi", "cmumosei", "sims", "simsv2", "ovmerdplus",
)  # fmt: skip


def get_benchmark(dataset_id: str) -> BenchmarkDataset:
    """Look a dataset up by id, upstream result-folder name or alias (case-insensitive)."""
    key = dataset_id.lower().removeprefix("results-")
    for dataset in BENCHMARKS.values():
        if key in (dataset.id, dataset.result_dir, *dataset.aliases):
            return dataset
    raise DatasetError(f"unknown dataset {dataset_id!r}; known ids: {', '.join(BENCHMARKS)}")
