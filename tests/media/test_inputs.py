"""The one model-inputs builder (``ovmer.media.inputs``): synthesized clips and the demo clip.

The decoding primitives are tested beside this file; these tests check what the *model* is fed:
which primitive each variant uses, frame order and colour order, audio clips, faces (official array
or detected), provenance, strict inputs, and frames against decord, upstream's decoder
(docs/media.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.media import load_audio, sample_frame_indices
from ovmer.media.inputs import FaceDetectors, ModelInputs, SampleMedia, build_model_inputs, sibling_wav
from tests.models.helpers import write_clip, write_wav

pytest.importorskip("av", reason="inference inputs need the [media] extra (PyAV)")


def load_video_inputs(
    video: Path | None,
    *,
    visual_kind: str = "frame",
    audio: Path | None = None,
    faces: Path | None = None,
    detector: object = None,
) -> ModelInputs:
    """The builder as ``describe`` calls it: a given face array is required, else faces are detected."""
    media = SampleMedia(video=video, wav=audio, face_array=faces)
    mode = "official" if faces is not None else "auto"
    return build_model_inputs(media, visual_kind, faces=mode, detector=detector)  # type: ignore[arg-type]


def test_frames_are_rgb_and_uniformly_sampled(tmp_path: Path) -> None:
    colors = [(200, 0, 0)] * 4 + [(0, 200, 0)] * 4 + [(0, 0, 200)] * 8  # 16 frames
    inputs = load_video_inputs(write_clip(tmp_path / "c.mp4", colors))
    visual = inputs.visual("frame")
    assert visual.shape == (8, 224, 224, 3) and visual.dtype == np.uint8
    # indices 0, 2, …, 14 -> red, red, green, green, blue × 4; channel 0 is red (RGB order)
    assert [int(np.argmax(f[100, 100])) for f in visual] == [0, 0, 1, 1, 2, 2, 2, 2]
    provenance = inputs.provenance
    assert provenance.num_source_frames == 16 and provenance.face_source is None
    assert provenance.audio_source == "video" and inputs.faces is None
    assert inputs.audio.shape == (8, 32000) and inputs.audio.dtype == np.float32
    assert provenance.audio_seconds == pytest.approx(1.5, abs=0.15)  # the video's AAC track (priming samples)


def test_official_face_array_keeps_bgr_and_needs_no_video(tmp_path: Path) -> None:
    faces = np.zeros((3, 112, 112, 3), np.uint8)
    faces[:, :, :, 0] = np.arange(3)[:, None, None] * 50 + 10  # channel 0 (blue) tags the crop
    np.save(tmp_path / "f.npy", faces)
    wav = write_wav(tmp_path / "a.wav", 0.1 * np.ones(40000))
    inputs = load_video_inputs(None, visual_kind="face", faces=tmp_path / "f.npy", audio=wav)
    visual = inputs.visual("face")
    assert visual.shape == (8, 224, 224, 3) and inputs.provenance.face_source == "openface"
    assert [int(c[5, 5, 0]) for c in visual] == [10, 60, 110, 110, 110, 110, 110, 110]
    assert int(visual[..., 2].max()) == 0  # no BGR->RGB swap (docs/media.md)
    assert inputs.provenance.num_source_frames == 3 and inputs.provenance.audio_seconds == pytest.approx(2.5)
    # The video is never read: the face array and the wav are all the face model needs.
    assert inputs.provenance.audio_source == "wav" and inputs.timings.get("decode_s") is None


def test_face_and_audio_errors_name_the_file(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", np.zeros(16000))
    np.save(tmp_path / "empty.npy", np.zeros((0, 112, 112, 3), np.uint8))
    with pytest.raises(MediaError, match=r"empty\.npy.*N = 0"):
        load_video_inputs(None, visual_kind="face", faces=tmp_path / "empty.npy", audio=wav)
    with pytest.raises(MediaError, match=r"missing\.npy.*MediaPipe"):
        load_video_inputs(None, visual_kind="face", faces=tmp_path / "missing.npy", audio=wav)
    with pytest.raises(MediaError, match="needs a video file"):
        load_video_inputs(None, visual_kind="face")
    silent = write_clip(tmp_path / "silent.mp4", [(1, 2, 3)] * 4, audio_seconds=None)
    with pytest.raises(MediaError, match=r"silent\.mp4.*no audio track"):
        load_video_inputs(silent)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError, match=r"bad\.mp4"):
        load_video_inputs(bad)


def test_real_demo_clip_frames_and_audio(reference: Path) -> None:
    video = reference / "media" / "sample_00000000.mp4"
    wav = sibling_wav(video)  # describe's default: the pre-extracted wav beside the video
    assert wav is not None and wav.name == "sample_00000000.wav"
    inputs = load_video_inputs(video, audio=wav)
    assert inputs.visual("frame").shape == (8, 224, 224, 3) and inputs.provenance.num_source_frames == 88
    assert inputs.audio.shape == (8, 32000)
    assert inputs.provenance.audio_seconds == pytest.approx(55_357 / 16000)
    np.testing.assert_array_equal(inputs.audio[7], load_audio(wav)[23356:55356])  # clip 8 (docs/media.md)


def test_face_model_on_a_raw_video_detects_faces(reference: Path) -> None:
    """No OpenFace file: MediaPipe crops (approximating OpenFace), BGR, sampled like upstream."""
    pytest.importorskip("mediapipe")
    video = reference / "media" / "sample_00000000.mp4"
    with FaceDetectors() as detectors:
        inputs = load_video_inputs(video, visual_kind="face", detector=detectors.get())
    assert inputs.provenance.face_source == "mediapipe" and inputs.provenance.face_found is not None
    assert sum(inputs.provenance.face_found) >= 7
    visual = inputs.visual("face")
    assert visual.shape == (8, 224, 224, 3) and visual.dtype == np.uint8
    # BGR: skin is redder than it is blue, so channel 2 (red) outweighs channel 0 (blue) in the centre.
    centre = visual[:, 80:144, 80:144].reshape(-1, 3).astype(float).mean(axis=0)
    assert centre[2] > centre[0]
    frames = load_video_inputs(video)
    assert not np.array_equal(visual, frames.visual("frame"))  # crops, not the whole frame


def test_frames_match_decord_within_tolerance(reference: Path) -> None:
    """Upstream decodes with decord at 224×224 (docs/media.md); PyAV's scaler may differ slightly."""
    decord = pytest.importorskip("decord")
    video = reference / "media" / "sample_00000000.mp4"
    reader = decord.VideoReader(str(video), height=224, width=224)
    assert len(reader) == 88
    expected = reader.get_batch(sample_frame_indices(len(reader))).asnumpy()
    diff = np.abs(load_video_inputs(video).visual("frame").astype(int) - expected.astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 4 and diff.max() <= 16


def test_strict_inputs_refuse_substitutes(tmp_path: Path) -> None:
    """Paper fidelity: a missing OpenFace array or wav is the sample's error, naming the file (upstream
    fails there too); without strict inputs the builder detects faces / uses the video's track."""
    clip = write_clip(tmp_path / "c.mp4", [(120, 90, 60)] * 6, audio_seconds=1.0)
    wav = write_wav(tmp_path / "c.wav", 0.1 * np.ones(20000))
    media = SampleMedia(name="c", video=clip, wav=tmp_path / "gone.wav", face_array=tmp_path / "gone.npy")
    with pytest.raises(MediaError, match=r"gone\.wav.*strict") as caught:
        build_model_inputs(media, "frame", strict=True)
    assert caught.value.stage == "audio"  # type: ignore[attr-defined]
    relaxed = build_model_inputs(media, "frame")
    assert relaxed.provenance.audio_source == "video" and relaxed.provenance.audio_file == str(clip)
    with_wav = SampleMedia(name="c", video=clip, wav=wav, face_array=tmp_path / "gone.npy")
    with pytest.raises(MediaError, match=r"gone\.npy.*strict") as caught:
        build_model_inputs(with_wav, "face", strict=True)
    assert caught.value.stage == "faces"  # type: ignore[attr-defined]
    strict_frames = build_model_inputs(with_wav, "frame", strict=True)  # the frame model needs no faces
    assert strict_frames.provenance.audio_source == "wav" and strict_frames.faces is None


def test_subtitle_provenance_and_asr_hook(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [(10, 20, 30)] * 4, audio_seconds=1.0)
    heard: list[int] = []

    def fake_asr(waveform: np.ndarray) -> str:
        heard.append(waveform.shape[0])
        return "transcribed words"

    given = build_model_inputs(SampleMedia(video=clip, subtitle="typed"), asr=fake_asr)
    assert (given.subtitle, given.provenance.subtitle_source, heard) == ("typed", "dataset", [])
    spoken = build_model_inputs(SampleMedia(video=clip), asr=fake_asr)
    assert (spoken.subtitle, spoken.provenance.subtitle_source) == ("transcribed words", "asr")
    assert heard == [round(spoken.provenance.audio_seconds * 16000)]  # the whole 16-kHz waveform
    silent = build_model_inputs(SampleMedia(video=clip))
    assert (silent.subtitle, silent.provenance.subtitle_source) == (None, None)
