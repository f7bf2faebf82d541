"""The one model-inputs builder: a sample's media → what AffectGPT reads, and where it came from.

Every command that feeds the model goes through :func:`build_model_inputs`: ``prepare`` (which
caches the result, see :mod:`ovmer.media.cache`), ``infer``, ``bench``, ``describe``, ``features
extract`` and training. So a model sees the same inputs whichever command decoded them.

What is read, and why (docs/media.md, docs/model.md):

- **frames**: 8 frames sampled with upstream's index rule from the video (``read_clip``), RGB,
  resized to 224 (upstream ``my_affectgpt/processors/video_processor.py``);
- **faces**: the official OpenFace ``openface_face`` array when the sample has one (what the released
  checkpoints were trained on; the video is then not decoded at all, as upstream), else faces
  detected with MediaPipe in the sampled frames (same layout, BGR order: an approximation);
- **audio**: the dataset's pre-extracted wav when it exists, else the video's own track, cut into
  eight 2-s clips at 16 kHz;
- **subtitle**: the dataset's, else (with ``asr``) transcribed from the audio.

``strict=True`` (the paper fidelity setting) refuses to substitute: a sample without its OpenFace
array (face model) or without its wav fails with an error naming the missing file, as upstream
would. The provenance of every input is recorded in :class:`InputProvenance`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.errors import InputStageError, MediaError
from ovmer.media.audio import SAMPLE_RATE, audio_clips, load_audio, model_audio
from ovmer.media.decode import DEFAULT_NUM_FRAMES, DecodedClip, read_clip
from ovmer.media.faces import DEFAULT_CROP_SIZE, FaceDetector, check_face_array, faces_for_model
from ovmer.safe_pickle import NUMPY_READ_ERRORS

#: What the model's visual encoder reads: whole frames (frame model) or face crops (face model);
#: ``both`` builds the two (``prepare`` caches both, so either model can read the cache).
VISUAL_KINDS = ("frame", "face", "both")
#: Where face crops may come from: ``auto`` (official array when present, else detect),
#: ``detect`` (always MediaPipe), ``official`` (the OpenFace array is required).
FACE_MODES = ("auto", "detect", "official")


@dataclass(frozen=True)
class SampleMedia:
    """The media files and subtitle of one sample, as a dataset or a user gives them.

    Attributes:
        name: the sample's name (used in error messages).
        video: the clip (needed unless the face model reads an OpenFace array and a wav).
        wav: the dataset's pre-extracted audio (None: the video's track).
        face_array: an official OpenFace ``openface_face`` ``.npy`` ``[N, h, w, 3]`` BGR.
        subtitle: the dataset's (or user's) subtitle; None when there is none.
    """

    name: str = ""
    video: Path | None = None
    wav: Path | None = None
    face_array: Path | None = None
    subtitle: str | None = None


@dataclass
class InputProvenance:
    """Where each input of one sample came from; recorded with every answer.

    Attributes:
        face_source: ``"openface"`` (official array), ``"mediapipe"`` (detected) or None (frame model).
        face_file: the official array read, when one was.
        face_found: per detected crop, whether MediaPipe found a face (None unless detected).
        audio_source: ``"wav"`` (the dataset's file), ``"video"`` (the clip's own track) or None.
        audio_file: the file the audio was read from.
        audio_seconds: length of the 16-kHz audio the clips were cut from.
        subtitle_source: ``"dataset"``, ``"asr"`` or None (no subtitle).
        num_frames: frames the model sees (8).
        num_source_frames: ``vlen`` of the index rule: video frames, or crops ``N`` of the face array.
        frame_indices: the sampled frame numbers (when the video was decoded).
    """

    face_source: str | None = None
    face_file: str | None = None
    face_found: list[bool] | None = None
    audio_source: str | None = None
    audio_file: str | None = None
    audio_seconds: float = 0.0
    subtitle_source: str | None = None
    num_frames: int = DEFAULT_NUM_FRAMES
    num_source_frames: int = 0
    frame_indices: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The provenance as stored in an answer record (fields that are None left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None and v != []}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputProvenance:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class ModelInputs:
    """Model-ready inputs of one sample. T = 8 frames.

    Attributes:
        frames: uint8 ``(T, 224, 224, 3)`` RGB, the frame model's input (None when not built).
        faces: uint8 ``(T, 224, 224, 3)`` BGR, the face model's input (fed to CLIP as BGR, as upstream).
        face_crops: uint8 ``(N, h, w, 3)`` BGR, the crops ``faces`` was sampled from (what ``prepare``
            caches for detected faces).
        audio: float32 ``(8, 32000)``: eight 2-s clips at 16 kHz.
        waveform: float32 ``(S,)``: the whole mono 16-kHz track the clips were cut from, for models
            that hear the clip whole (``hf:`` audio adapters, ``openai:``). None when read from the
            ``prepare`` cache, which stores only the clips: :meth:`whole_waveform` then reads the
            recorded file again.
        subtitle: the subtitle to prompt with (None when there is none).
        provenance: where each input came from.
        timings: seconds per stage (``decode_s``, ``faces_s``, ``audio_s``, ``asr_s``).
    """

    audio: np.ndarray
    frames: np.ndarray | None = None
    faces: np.ndarray | None = None
    face_crops: np.ndarray | None = None
    waveform: np.ndarray | None = None
    subtitle: str | None = None
    provenance: InputProvenance = field(default_factory=InputProvenance)
    timings: dict[str, float] = field(default_factory=dict)

    def whole_waveform(self) -> np.ndarray:
        """float32 ``(S,)`` 16-kHz mono: ``waveform``, or (inputs read from the ``prepare`` cache, which
        keeps only the clips) the track read again from the file the builder recorded, by the same
        reader and resampler. Raises :class:`MediaError` when no audio file was recorded."""
        if self.waveform is not None:
            return self.waveform
        if self.provenance.audio_file is None:
            raise MediaError("the inputs builder recorded no audio file for this sample")
        return load_audio(self.provenance.audio_file)

    def visual(self, kind: str) -> np.ndarray:
        """The visual input of the ``frame`` or ``face`` model (uint8 ``(T, 224, 224, 3)``)."""
        value = self.faces if kind == "face" else self.frames
        if value is None:
            raise MediaError(f"{kind} inputs were not built for this sample")
        return value


def read_face_array(path: str | os.PathLike[str], *, mmap: bool = False) -> np.ndarray:
    """The one reader of an OpenFace ``openface_face`` array: uint8 ``[N, h, w, 3]`` BGR, N > 0.

    Loaded without pickle (a ``.npy`` from someone else's release cannot run code). ``mmap`` maps
    the file instead of reading it (``data check`` validates thousands of arrays by their headers).

    Raises:
        MediaError: the file is missing, not a plain array, or of the wrong shape/dtype, naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(
            f"{path}: face array not found; extract faces with OpenFace, or leave it out to detect "
            "faces in the video with MediaPipe"
        )
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except NUMPY_READ_ERRORS as exc:
        raise MediaError(f"{path}: cannot read face array ({exc})") from exc
    check_face_array(array, os.fspath(path))
    return array


def existing_file(path: str | os.PathLike[str] | None) -> Path | None:
    """``path`` when that file exists, else None."""
    return Path(path) if path is not None and Path(path).is_file() else None


def sibling_wav(video: str | os.PathLike[str]) -> Path | None:
    """``<video stem>.wav`` beside the video when it exists: the pre-extracted track upstream reads."""
    return existing_file(Path(video).with_suffix(".wav"))


@dataclass
class _Build:
    """Working state of one :func:`build_model_inputs` call."""

    media: SampleMedia
    provenance: InputProvenance = field(default_factory=InputProvenance)
    timings: dict[str, float] = field(default_factory=dict)
    stage: str = "video"
    clip: DecodedClip | None = None

    def timed(self, stage: str, key: str, step: Callable[[], Any]) -> Any:
        self.stage = stage
        start = time.perf_counter()
        try:
            return step()
        finally:
            self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - start


def build_model_inputs(
    media: SampleMedia,
    visual_kind: str = "frame",
    *,
    faces: str = "auto",
    strict: bool = False,
    detector: FaceDetector | FaceDetectors | None = None,
    asr: Callable[[np.ndarray], str] | None = None,
    n_frames: int = DEFAULT_NUM_FRAMES,
    crop_size: int = DEFAULT_CROP_SIZE,
    threads: int = 0,
) -> ModelInputs:
    """Everything the model reads for one sample (see the module docstring for the rules).

    Args:
        media: the sample's files and subtitle.
        visual_kind: ``frame``, ``face`` or ``both`` (see :data:`VISUAL_KINDS`).
        faces: ``auto``, ``detect`` or ``official`` (see :data:`FACE_MODES`).
        strict: refuse to substitute a missing OpenFace array (face inputs) or wav.
        detector: a reusable MediaPipe detector, or a per-thread :class:`FaceDetectors` (asked only
            when faces are detected); one is created and closed when needed and not given.
        asr: transcribes the 16-kHz waveform when the sample has no subtitle (None: no ASR).
        n_frames: frames to sample (8 for the released models).
        crop_size: side of detected face crops (OpenFace's 112).
        threads: FFmpeg decoding threads (0 = automatic; 1 inside worker processes).

    Raises:
        InputStageError: naming the file and the stage that failed (``video``, ``faces``, ``audio``,
            ``subtitle``); ``.cause`` is the original error.
    """
    if visual_kind not in VISUAL_KINDS:
        raise MediaError(f"unknown visual input {visual_kind!r}; expected one of {VISUAL_KINDS}")
    if faces not in FACE_MODES:
        raise MediaError(f"faces must be one of {FACE_MODES}, got {faces!r}")
    build = _Build(media)
    build.provenance.num_frames = n_frames
    try:
        return _build(build, visual_kind, faces, strict, detector, asr, n_frames, crop_size, threads)
    except InputStageError:
        raise
    except Exception as exc:
        raise InputStageError(build.stage, exc) from exc


def _build(
    build: _Build,
    visual_kind: str,
    faces: str,
    strict: bool,
    detector: FaceDetector | FaceDetectors | None,
    asr: Callable[[np.ndarray], str] | None,
    n_frames: int,
    crop_size: int,
    threads: int,
) -> ModelInputs:
    media = build.media
    want_faces = visual_kind in ("face", "both")
    official = _official_face_file(media, faces, strict) if want_faces else None
    wav = _wav_file(media, strict)
    if visual_kind != "face" or official is None:  # frames or detection need the video
        build.clip = build.timed("video", "decode_s", lambda: _decode(media, n_frames, wav, threads))
        build.provenance.num_source_frames = build.clip.info.num_frames
        build.provenance.frame_indices = list(build.clip.indices)
    inputs = ModelInputs(audio=np.zeros(0, np.float32), provenance=build.provenance, timings=build.timings)
    if build.clip is not None and visual_kind != "face":
        inputs.frames = build.clip.model_frames
    if want_faces:
        build.timed(
            "faces", "faces_s", lambda: _faces(build, inputs, official, detector, n_frames, crop_size)
        )
    waveform = build.timed("audio", "audio_s", lambda: _waveform(build, wav))
    inputs.audio = audio_clips(waveform)
    inputs.waveform = waveform
    build.provenance.audio_seconds = waveform.shape[0] / SAMPLE_RATE
    inputs.subtitle = media.subtitle
    build.provenance.subtitle_source = "dataset" if media.subtitle is not None else None
    if media.subtitle is None and asr is not None:
        inputs.subtitle = build.timed("subtitle", "asr_s", lambda: asr(waveform))
        build.provenance.subtitle_source = "asr"
    return inputs


def _official_face_file(media: SampleMedia, faces: str, strict: bool) -> Path | None:
    if faces == "detect":
        return None
    found = existing_file(media.face_array)
    if found is None and (strict or faces == "official"):
        missing = media.face_array if media.face_array is not None else "no face array given"
        hint = (
            "give the dataset's openface_face folder, or drop --strict-inputs to detect faces with MediaPipe"
            if strict
            else "extract faces with OpenFace, or leave it out to detect faces in the video with MediaPipe"
        )
        raise InputStageError(
            "faces", MediaError(f"{missing}: official OpenFace face array not found; {hint}")
        )
    return found


def _wav_file(media: SampleMedia, strict: bool) -> Path | None:
    found = existing_file(media.wav)
    if found is None and strict:
        missing = media.wav if media.wav is not None else "no wav given"
        raise InputStageError(
            "audio",
            MediaError(
                f"{missing}: the dataset's wav is required (strict inputs) and was not found; give the "
                "audio folder, or drop --strict-inputs to use the video's own audio track"
            ),
        )
    return found


def _decode(media: SampleMedia, n_frames: int, wav: Path | None, threads: int) -> DecodedClip:
    if media.video is None:
        raise MediaError(
            f"{media.name or 'sample'}: the model needs a video file"
            " (the face model can do without one given an OpenFace array and a wav)"
        )
    # One pass over the container: frames, and the audio track unless a wav is given.
    return read_clip(media.video, n_frames, with_audio=wav is None, threads=threads)


def _faces(
    build: _Build,
    inputs: ModelInputs,
    official: Path | None,
    detector: FaceDetector | FaceDetectors | None,
    n_frames: int,
    crop_size: int,
) -> None:
    if official is not None:
        crops = read_face_array(official)
        inputs.faces = faces_for_model(crops, n_frames, source=os.fspath(official))
        inputs.face_crops = crops
        build.provenance.face_source, build.provenance.face_file = "openface", os.fspath(official)
        if build.clip is None:
            build.provenance.num_source_frames = int(crops.shape[0])
        return
    assert build.clip is not None
    shared = detector.get() if isinstance(detector, FaceDetectors) else detector
    active = shared if shared is not None else FaceDetector(crop_size=crop_size)
    try:
        track = active.track(build.clip.frames)
    finally:
        if shared is None:
            active.close()
    inputs.face_crops = track.crops
    inputs.faces = faces_for_model(track.crops, n_frames, source=os.fspath(build.media.video or ""))
    build.provenance.face_source = "mediapipe"
    build.provenance.face_found = [bool(x) for x in track.found]


def _waveform(build: _Build, wav: Path | None) -> np.ndarray:
    """Mono float32 16-kHz audio: the wav when given, else the video's track."""
    media, clip = build.media, build.clip
    if wav is not None:
        build.provenance.audio_source, build.provenance.audio_file = "wav", os.fspath(wav)
        return load_audio(wav)
    if media.video is None:
        raise MediaError(f"{media.name or 'sample'}: no audio: no wav was found and there is no video")
    build.provenance.audio_source, build.provenance.audio_file = "video", os.fspath(media.video)
    if clip is None:  # official faces without a wav: read only the audio of the video
        return load_audio(media.video)
    if clip.audio is not None:
        return model_audio(clip.audio, clip.audio_rate)
    wanted = f"{media.wav} does not exist and " if media.wav is not None else ""
    if not clip.info.has_audio:
        raise MediaError(f"{clip.info.path}: no audio: {wanted}the video has no audio track")
    raise MediaError(f"{clip.info.path}: no audio: {wanted}the video's audio track has no samples")


class FaceDetectors:
    """One MediaPipe :class:`FaceDetector` per thread, created on first use and closed together.

    Why: the runners decode the next batch in worker threads, and a MediaPipe graph must not be used
    by two threads at once; building one per clip would cost ~50 ms each.
    """

    def __init__(self, crop_size: int = DEFAULT_CROP_SIZE) -> None:
        self.crop_size = crop_size
        self._local = threading.local()
        self._all: list[FaceDetector] = []
        self._lock = threading.Lock()

    def get(self) -> FaceDetector:
        detector: FaceDetector | None = getattr(self._local, "detector", None)
        if detector is None:
            detector = FaceDetector(crop_size=self.crop_size)
            self._local.detector = detector
            with self._lock:
                self._all.append(detector)
        return detector

    def close(self) -> None:
        with self._lock:
            for detector in self._all:
                detector.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> FaceDetectors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
