"""Media pipeline: PyAV decoding, upstream frame/audio sampling, face crops, ASR subtitles.

``load_clip_inputs(video)`` gives everything the AffectGPT model needs for one clip; see
:class:`ClipInputs` for exact shapes, dtypes and channel orders (spec ``affectgpt-model.md`` §4).
Heavy dependencies (PyAV, OpenCV, MediaPipe) come with ``pip install 'ovmer[media]'``.
"""

from ovmer.media.audio import SAMPLE_RATE, audio_clips, clip_starts, load_audio, read_audio, resample
from ovmer.media.clip import ClipInputs, load_clip_inputs
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

__all__ = [
    "SAMPLE_RATE",
    "ClipInputs",
    "DecodedClip",
    "FaceDetector",
    "FaceTrack",
    "TimedFrames",
    "VideoInfo",
    "audio_clips",
    "clip_starts",
    "faces_for_model",
    "load_audio",
    "load_clip_inputs",
    "probe_video",
    "read_audio",
    "read_clip",
    "read_frames_at_rate",
    "read_sampled_frames",
    "resample",
    "sample_frame_indices",
]
