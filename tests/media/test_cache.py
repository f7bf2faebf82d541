"""The ``prepare`` cache class: what :meth:`InputsCache.write` stores, :meth:`InputsCache.read` gives
back as the same :class:`ModelInputs`, and what counts as done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import DatasetError
from ovmer.media.cache import InputsCache
from ovmer.media.inputs import InputProvenance, ModelInputs

pytest.importorskip("cv2", reason="faces are resized with OpenCV ([media] extra)")


def _inputs(face_source: str, official: Path | None = None) -> ModelInputs:
    rng = np.random.default_rng(1)
    crops = rng.integers(0, 255, (5, 112, 112, 3), dtype=np.uint8)
    return ModelInputs(
        audio=rng.standard_normal((8, 32000)).astype(np.float32),
        frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
        face_crops=crops,
        subtitle="Hello.",
        provenance=InputProvenance(
            face_source=face_source,
            face_file=None if official is None else str(official),
            face_found=[True] * 5 if face_source == "mediapipe" else None,
            audio_source="wav",
            audio_file="/data/a.wav",
            audio_seconds=3.5,
            subtitle_source="dataset",
            num_source_frames=88,
            frame_indices=[0, 11, 22, 33, 44, 55, 66, 77],
        ),
        timings={"decode_s": 0.1},
    )


def test_write_then_read_gives_the_same_inputs(tmp_path: Path) -> None:
    cache = InputsCache(tmp_path)
    written = _inputs("mediapipe")
    meta = cache.write("s1", written, extra={"label": "happy"})
    assert meta["label"] == "happy" and meta["face_file"] == "openface_face/s1.npy"
    assert cache.is_done("s1") and not cache.is_done("s2")
    back = cache.read("s1")
    assert back.provenance == written.provenance and back.subtitle == "Hello."
    assert np.array_equal(back.audio, written.audio) and back.frames is not None
    assert np.array_equal(back.frames, written.frames)  # type: ignore[arg-type]
    assert back.face_crops is not None and np.array_equal(back.face_crops, written.face_crops)  # type: ignore[arg-type]
    assert back.faces is not None and back.faces.shape == (8, 224, 224, 3)
    assert cache.settings() is None  # no prepare.json: not a finished prepare folder


def test_official_faces_are_referenced_not_copied(tmp_path: Path) -> None:
    official = tmp_path / "openface_face" / "s1.npy"
    official.parent.mkdir()
    np.save(official, _inputs("openface").face_crops)
    cache = InputsCache(tmp_path / "cache")
    meta = cache.write("s1", _inputs("openface", official), save_frames=False)
    assert meta["face_file"] == str(official) and meta["frames_file"] is None
    assert not (tmp_path / "cache" / "openface_face").exists()
    assert cache.read("s1").frames is None and cache.read("s1").provenance.face_source == "openface"


def test_a_short_file_is_not_done(tmp_path: Path) -> None:
    cache = InputsCache(tmp_path)
    cache.write("s1", _inputs("mediapipe"))
    audio = tmp_path / "audio" / "s1.npy"
    audio.write_bytes(audio.read_bytes()[:-10])  # a power loss after the rename
    assert not cache.is_done("s1")
    with pytest.raises(DatasetError, match="s1: not prepared"):
        cache.read("s1")


def test_a_cache_of_an_earlier_version_still_reads(tmp_path: Path) -> None:
    """Caches written before provenance was recorded under ``inputs`` keep their meaning."""
    cache = InputsCache(tmp_path)
    cache.write("s1", _inputs("mediapipe"))
    meta_file = tmp_path / "meta" / "s1.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    del meta["inputs"]
    meta.update(
        face_source="detected",
        face_found=[True, False, True, True, True],
        audio_source="/data/a.wav",
        audio_samples=56000,
        subtitle_source="asr",
        num_video_frames=88,
        frame_indices=[0, 11, 22, 33, 44, 55, 66, 77],
    )
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    provenance = cache.read("s1").provenance
    assert (provenance.face_source, provenance.audio_source) == ("mediapipe", "wav")
    assert provenance.audio_seconds == pytest.approx(3.5) and provenance.num_source_frames == 88
    assert provenance.subtitle_source == "asr" and provenance.face_found == [True, False, True, True, True]


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b"])
def test_names_that_are_not_file_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(DatasetError, match="cannot be used as a file name"):
        InputsCache(tmp_path).write(name, _inputs("mediapipe"))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("stored", ["audio/s1.npy", "frames/s1.npy", "openface_face/s1.npy"])
def test_a_same_size_corruption_is_caught_on_read_and_the_sample_is_redone(
    tmp_path: Path, stored: str
) -> None:
    cache = InputsCache(tmp_path)
    meta = cache.write("s1", _inputs("mediapipe"))
    assert meta["file_hashes"][stored].startswith("blake2b:")
    size = (tmp_path / stored).stat().st_size
    _flip_last_byte(tmp_path / stored)
    assert (tmp_path / stored).stat().st_size == size
    assert cache.is_done("s1")  # sizes only: resuming a large cache stays cheap (module docstring)
    with pytest.raises(DatasetError, match=r"s1\.npy does not match.*rerun ovmer prepare"):
        cache.read("s1")
    assert not cache.is_done("s1")  # the next prepare rebuilds it
    cache.write("s1", _inputs("mediapipe"))
    assert np.array_equal(cache.read("s1").audio, _inputs("mediapipe").audio)


def test_a_cache_without_recorded_hashes_is_read_unchecked(tmp_path: Path) -> None:
    cache = InputsCache(tmp_path)
    meta = cache.write("s1", _inputs("mediapipe"))
    del meta["file_hashes"]
    cache.meta_path("s1").write_text(json.dumps(meta), encoding="utf-8")
    _flip_last_byte(tmp_path / "audio" / "s1.npy")
    assert cache.read("s1").audio.shape == (8, 32000)
