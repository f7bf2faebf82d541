"""Feature folders: cache and plain layouts, time averaging, merging, and why a clip is unusable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ovmer.classifier.features import FeatureFolders, usable_vectors
from ovmer.errors import DatasetError
from tests.classifier.conftest import Synthetic


def test_a_cache_is_read_and_frames_are_averaged(synthetic: Synthetic) -> None:
    folders = FeatureFolders([synthetic.features])  # cache.json + features/
    assert folders.names()[:2] == ["synth_00000", "synth_00001"] and len(folders.names()) == 160
    from safetensors.numpy import load_file

    stored = load_file(str(synthetic.features / "features" / "synth_00000.safetensors"))
    vectors = folders.load("synth_00000")
    assert vectors["visual"].shape == (12,) and vectors["audio"].shape == (16,)
    np.testing.assert_allclose(vectors["audio"], stored["audio"].mean(axis=0), rtol=1e-6)


def test_plain_folders_merge_and_the_first_wins(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    save_file({"audio": np.ones((3, 4), np.float32)}, str(tmp_path / "a" / "clip.safetensors"))
    save_file(
        {"audio": np.zeros(4, np.float32), "text": np.full(5, 2, np.float32)},
        str(tmp_path / "b" / "clip.safetensors"),
    )
    vectors = FeatureFolders([tmp_path / "a", tmp_path / "b"]).load("clip")
    assert vectors["audio"].tolist() == [1, 1, 1, 1] and vectors["text"].tolist() == [2] * 5


def test_unusable_clips_get_a_reason(tmp_path: Path) -> None:
    save_file({"audio": np.ones(4, np.float32)}, str(tmp_path / "short.safetensors"))
    save_file(
        {"audio": np.ones(4, np.float32), "visual": np.ones(3, np.float32)}, str(tmp_path / "ok.safetensors")
    )
    save_file({"audio": np.full(4, np.nan, np.float32)}, str(tmp_path / "nan.safetensors"))
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    folders = FeatureFolders([tmp_path])
    dims = {"audio": 4, "visual": 2}
    assert usable_vectors(folders, "ghost", ["audio"], {})[0] == "no feature file"
    assert usable_vectors(folders, "short", ["audio", "visual"], {})[0] == "no visual features"
    assert (
        usable_vectors(folders, "ok", ["audio", "visual"], dims)[0]
        == "visual features have 3 dims, expected 2"
    )
    assert "NaN" in usable_vectors(folders, "nan", ["audio"], {})[0]
    assert usable_vectors(folders, "broken", ["audio"], {})[0].startswith("unreadable features")
    assert usable_vectors(folders, "ok", ["audio"], dims)[0] == ""


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="feature folder not found"):
        FeatureFolders([tmp_path / "nope"])
