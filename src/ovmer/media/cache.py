"""The ``ovmer prepare`` cache: :class:`~ovmer.media.inputs.ModelInputs` written once, read back as is.

Layout (every file written to a temporary name and renamed, so a killed run never leaves a
half-written file; a sample is *done* once its ``meta/<name>.json`` exists, which is written last)::

    CACHE/
      prepare.json                 settings of the run (a resumed run must use the same ones)
      frames/<name>.npy            uint8 [8, 224, 224, 3] RGB
      openface_face/<name>.npy     uint8 [8, 112, 112, 3] BGR   detected faces, upstream layout
      audio/<name>.npy             float32 [8, 32000]           8 clips of 2 s at 16 kHz
      meta/<name>.json             subtitle, label, input provenance, face-found mask, timings
      manifest.jsonl               one line per finished sample (rewritten at the end of a run)
      errors.jsonl                 one line per sample that failed in the last run, with the reason

Official OpenFace arrays are not copied: only their path is recorded. Shapes: docs/media.md.

Integrity: the meta record keeps each written array's byte size (``file_sizes``) and BLAKE2b digest
(``file_hashes``). :meth:`InputsCache.is_done` compares sizes only, because it runs for every sample
when a run resumes and hashing ~1.5 MB per sample there would cost more than the check is worth; a
short or missing file (a power loss after the rename) is caught there. :meth:`InputsCache.read`
verifies the digests of the files it loads, so a same-size corruption is never fed to a model: the
sample's meta file is removed (it is then not done, and the next ``prepare`` rebuilds it) and a
:class:`~ovmer.errors.DatasetError` names the file. Caches written before digests were recorded are
read without the check.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.errors import DatasetError
from ovmer.media.audio import SAMPLE_RATE
from ovmer.media.faces import check_face_array, faces_for_model
from ovmer.media.inputs import InputProvenance, ModelInputs, read_face_array

SETTINGS_FILE = "prepare.json"
CACHE_FOLDERS = ("frames", "openface_face", "audio", "meta")


def safe_sample_name(name: str) -> str:
    """``name`` when it can be a file name in the cache, else a :class:`DatasetError`."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise DatasetError(f"sample name {name!r} cannot be used as a file name")
    return name


def _digest(data: bytes | memoryview) -> str:
    return "blake2b:" + hashlib.blake2b(data, digest_size=32).hexdigest()


def _save_npy(path: Path, array: np.ndarray) -> tuple[int, str]:
    """Write ``array`` via a temporary file + rename; returns the byte size and the content digest.

    No fsync: cache entries are reproducible, and fsync cost ~15 ms per file (as much as the face
    detector). A kill leaves only a hidden temporary; after a power loss a renamed file could be
    short, which :meth:`InputsCache.is_done` catches by comparing the sizes recorded in the meta file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getbuffer()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(data), _digest(data)


def _provenance_of_old_cache(meta: dict[str, Any]) -> InputProvenance:
    """Provenance of a cache written before it was recorded as ``inputs`` (kept readable)."""
    source = meta.get("face_source")
    audio = str(meta.get("audio_source") or "")
    return InputProvenance(
        face_source="mediapipe" if source == "detected" else source,
        face_found=meta.get("face_found"),
        audio_source="wav" if audio.lower().endswith(".wav") else "video" if audio else None,
        audio_file=audio or None,
        audio_seconds=float(meta.get("audio_samples", 0)) / SAMPLE_RATE,
        subtitle_source=meta.get("subtitle_source"),
        num_source_frames=int(meta.get("num_video_frames", 0)),
        frame_indices=list(meta.get("frame_indices", [])),
    )


class InputsCache:
    """One cache folder: :meth:`write` stores a sample's inputs, :meth:`read` gives them back."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def meta_path(self, name: str) -> Path:
        return self.folder / "meta" / f"{safe_sample_name(name)}.json"

    def settings(self) -> dict[str, Any] | None:
        """The run settings in ``prepare.json`` (None when the folder is not a cache)."""
        path = self.folder / SETTINGS_FILE
        if not path.is_file():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else None

    def read_meta(self, name: str) -> dict[str, Any] | None:
        """A finished sample's meta record (None when absent or torn)."""
        try:
            value = json.loads(self.meta_path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def is_done(self, name: str) -> bool:
        """True when the sample's meta file and every file it lists exist with their recorded sizes."""
        return self._complete_meta(name) is not None

    def _complete_meta(self, name: str) -> dict[str, Any] | None:
        """The sample's meta record when it and every file it lists exist with their recorded sizes."""
        meta = self.read_meta(name)
        if meta is None:
            return None
        sizes: dict[str, int] = meta.get("file_sizes", {})
        for key in ("frames_file", "face_file", "audio_file"):
            stored = meta.get(key)
            if stored is None:
                continue
            path = self._path(stored)
            if not path.is_file() or (stored in sizes and path.stat().st_size != sizes[stored]):
                return None
        return meta

    def _path(self, stored: str) -> Path:
        return Path(stored) if Path(stored).is_absolute() else self.folder / stored

    def write(
        self, name: str, inputs: ModelInputs, *, save_frames: bool = True, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Store one sample's inputs; the meta file (the commit marker) is written last.

        ``extra`` (label, split, video …) is stored in the meta record; returns that record.
        """
        name = safe_sample_name(name)
        sizes: dict[str, int] = {}
        hashes: dict[str, str] = {}
        provenance = inputs.provenance
        if provenance.face_source == "openface":
            face_file = provenance.face_file
        elif inputs.face_crops is not None:
            face_file = f"openface_face/{name}.npy"
            sizes[face_file], hashes[face_file] = _save_npy(self.folder / face_file, inputs.face_crops)
        else:
            face_file = None
        frames_file = None
        if save_frames and inputs.frames is not None:
            frames_file = f"frames/{name}.npy"
            sizes[frames_file], hashes[frames_file] = _save_npy(self.folder / frames_file, inputs.frames)
        audio_file = f"audio/{name}.npy"
        sizes[audio_file], hashes[audio_file] = _save_npy(self.folder / audio_file, inputs.audio)
        meta = {
            "name": name,
            **(extra or {}),
            "subtitle": inputs.subtitle,
            "inputs": provenance.to_json(),
            "frames_file": frames_file,
            "face_file": face_file,
            "audio_file": audio_file,
            "file_sizes": sizes,
            "file_hashes": hashes,
            "timings": inputs.timings,
        }
        path = self.meta_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)  # a truncated meta file fails to parse: the sample is prepared again
        return meta

    def read(self, name: str, n_frames: int = 8) -> ModelInputs:
        """A prepared sample as :class:`ModelInputs` (faces resized to 224 and sampled as for a video).

        Raises:
            DatasetError: the sample is not (completely) in the cache, or a file's content differs
                from the digest recorded when it was written.
        """
        inputs = self.read_if_done(name, n_frames)
        if inputs is None:
            raise DatasetError(
                f"{name}: not prepared in {self.folder} (no complete {self.meta_path(name)}); "
                "run ovmer prepare first"
            )
        return inputs

    def read_if_done(self, name: str, n_frames: int = 8) -> ModelInputs | None:
        """:meth:`read`, or None when the sample is not (completely) in the cache (one look at the
        meta file, for callers that fall back to decoding)."""
        meta = self._complete_meta(name)
        if meta is None:
            return None
        provenance = (
            InputProvenance.from_json(meta["inputs"]) if "inputs" in meta else _provenance_of_old_cache(meta)
        )
        inputs = ModelInputs(
            audio=self._load_verified(name, meta, meta["audio_file"]),
            subtitle=meta.get("subtitle"),
            provenance=provenance,
            timings=dict(meta.get("timings", {})),
        )
        if meta.get("frames_file"):
            inputs.frames = self._load_verified(name, meta, meta["frames_file"])
        if meta.get("face_file"):
            face_file = self._path(meta["face_file"])
            if meta["face_file"] in meta.get("file_hashes", {}):  # read once: verified, then parsed
                inputs.face_crops = self._load_verified(name, meta, meta["face_file"])
                check_face_array(inputs.face_crops, os.fspath(face_file))
            else:
                inputs.face_crops = read_face_array(face_file)
            inputs.faces = faces_for_model(inputs.face_crops, n_frames, source=os.fspath(face_file))
        return inputs

    def _load_verified(self, name: str, meta: dict[str, Any], stored: str) -> np.ndarray:
        data = self._path(stored).read_bytes()
        self._verify(name, meta, stored, data)
        return np.load(io.BytesIO(data), allow_pickle=False)

    def _verify(self, name: str, meta: dict[str, Any], stored: str, data: bytes) -> None:
        """Compare ``data`` with the digest recorded for ``stored`` (none recorded: older cache, no check)."""
        expected = meta.get("file_hashes", {}).get(stored)
        if expected is None or _digest(data) == expected:
            return
        with contextlib.suppress(OSError):  # not done any more: the next prepare rebuilds the sample
            self.meta_path(name).unlink()
        raise DatasetError(
            f"{name}: {self._path(stored)} does not match the content recorded when it was prepared "
            f"(changed or damaged on disk); the sample is marked not prepared in {self.folder}: "
            "rerun ovmer prepare with the same options to rebuild it"
        )

    def remove_stale_temporaries(self) -> None:
        """Delete atomic-write temporaries a killed run left (never mistaken for results: a sample is
        done only through its meta file, but they waste space)."""
        for sub in (*CACHE_FOLDERS, "."):
            folder = self.folder / sub
            if folder.is_dir():
                for leftover in folder.glob(".*.tmp"):
                    leftover.unlink(missing_ok=True)
