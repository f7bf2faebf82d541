"""Media pipeline: PyAV decoding, upstream frame/audio sampling, face crops, ASR subtitles.

:func:`build_model_inputs` (the one model-inputs builder) gives everything the AffectGPT model needs
for one sample, with where each input came from; see :class:`ModelInputs` for exact shapes, dtypes
and channel orders (docs/media.md). :class:`InputsCache` stores them for ``ovmer prepare``.
Heavy dependencies (PyAV, OpenCV, MediaPipe) come with ``pip install 'ovmer[media]'``.
"""

from ovmer.media.audio import SAMPLE_RATE, audio_clips, clip_starts, load_audio, read_audio, resample
from ovmer.media.cache import InputsCache
from ovmer.media.decode import (
    DecodedClip,
    TimedFrames,
    VideoInfo,
    probe_video,
    read_clip,
    read_frames_at_rate,
    read_sampled_frames,
    sample_frame_indices,
)
from ovmer.media.faces import FaceDetector, FaceTrack, faces_for_model
from ovmer.media.inputs import (
    FaceDetectors,
    InputProvenance,
    ModelInputs,
    SampleMedia,
    build_model_inputs,
    read_face_array,
)

__all__ = [
    "SAMPLE_RATE",
    "DecodedClip",
    "FaceDetector",
    "FaceDetectors",
    "FaceTrack",
    "InputProvenance",
    "InputsCache",
    "ModelInputs",
    "SampleMedia",
    "TimedFrames",
    "VideoInfo",
    "audio_clips",
    "build_model_inputs",
    "clip_starts",
    "faces_for_model",
    "load_audio",
    "probe_video",
    "read_audio",
    "read_clip",
    "read_face_array",
    "read_frames_at_rate",
    "read_sampled_frames",
    "resample",
    "sample_frame_indices",
]
