"""A registry sample → the model's inputs: from an ``ovmer prepare`` cache when it has them, else
built by :func:`ovmer.media.inputs.build_model_inputs` (the one builder; never decided here)."""

from __future__ import annotations

import os
from pathlib import Path

from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, MediaError
from ovmer.media.cache import InputsCache
from ovmer.media.decode import DEFAULT_NUM_FRAMES
from ovmer.media.inputs import FaceDetectors, ModelInputs, build_model_inputs


def dataset_key(dataset_id: str) -> str:
    """One spelling per dataset: registry id (aliases resolved) or ``csv:`` + absolute path."""
    from ovmer.data.benchmarks import get_benchmark
    from ovmer.data.registry import CSV_PREFIX, is_manifest

    if is_manifest(dataset_id):
        return CSV_PREFIX + os.fspath(Path(dataset_id[len(CSV_PREFIX) :]).resolve())
    try:
        return get_benchmark(dataset_id).id
    except DatasetError:
        return dataset_id


class SampleLoader:
    """Model inputs of registry samples, for one visual kind (``frame`` or ``face``).

    Samples that ``prepare`` finished in ``prepared`` are read from the cache (its subtitle, e.g. from
    ``prepare --asr``, fills in a sample without one); the others are built from their media: the
    dataset's wav when it exists, else the video's track; the official face array when it exists,
    else MediaPipe faces. ``strict`` (paper fidelity) refuses both substitutions, also for cached
    samples.
    """

    def __init__(
        self,
        visual_kind: str,
        prepared: str | os.PathLike[str] | None = None,
        dataset_id: str | None = None,
        *,
        strict: bool = False,
    ) -> None:
        self.visual_kind = visual_kind
        self.strict = strict
        self.cache = None if prepared is None else InputsCache(prepared)
        if self.cache is not None:
            settings = self.cache.settings()
            if settings is None:
                raise DatasetError(
                    f"{self.cache.folder} is not an ovmer prepare cache (no prepare.json); run "
                    "`ovmer prepare ROOT --dataset ID --out CACHE` first or leave out --prepared"
                )
            cached = settings.get("dataset")
            # Sample names repeat across datasets (MER2023 and MER2024 both have sample_00000xxx).
            if dataset_id and cached and dataset_key(cached) != dataset_key(dataset_id):
                raise DatasetError(
                    f"{self.cache.folder} holds a prepared {cached!r}, not {dataset_id!r}; give the cache of "
                    f"this dataset (ovmer prepare ROOT --dataset {dataset_id} --out CACHE)"
                )
        self.detectors = FaceDetectors()

    def __call__(self, sample: Sample) -> ModelInputs:
        cached = self._from_cache(sample)
        if cached is not None:
            return cached
        return build_model_inputs(
            sample.media(), self.visual_kind, strict=self.strict, detector=self.detectors
        )

    def _from_cache(self, sample: Sample) -> ModelInputs | None:
        if self.cache is None:
            return None
        inputs = self.cache.read_if_done(sample.name)
        if inputs is None:
            return None
        visual = inputs.faces if self.visual_kind == "face" else inputs.frames
        if visual is None or visual.shape[0] != DEFAULT_NUM_FRAMES:
            return None  # frames not saved, or another frame count: build instead
        if self.strict:
            _check_strict(inputs, self.visual_kind, sample.name, self.cache.folder)
        if sample.subtitle is not None:  # the dataset's subtitle wins over a transcript
            inputs.subtitle = sample.subtitle
            inputs.provenance.subtitle_source = "dataset"
        return inputs

    def close(self) -> None:
        self.detectors.close()


def _check_strict(inputs: ModelInputs, visual_kind: str, name: str, cache: Path) -> None:
    provenance = inputs.provenance
    if visual_kind == "face" and provenance.face_source != "openface":
        raise MediaError(
            f"{name}: {cache} holds faces detected with MediaPipe, and strict inputs need the official "
            "OpenFace array; prepare with the dataset's openface_face folder or drop --strict-inputs"
        )
    if provenance.audio_source != "wav":
        raise MediaError(
            f"{name}: {cache} holds audio from the video's track, and strict inputs need the dataset's "
            "wav; prepare with the audio folder or drop --strict-inputs"
        )
