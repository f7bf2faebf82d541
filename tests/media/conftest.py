"""Fixtures for media tests: the real demo clip (never copied) and synthesized clips."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_clip(reference: Path) -> Path:
    path = reference / "media" / "sample_00000000.mp4"
    if not path.is_file():
        pytest.skip(f"real demo clip not found at {path}")
    return path


@pytest.fixture(scope="session")
def real_wav(reference: Path) -> Path:
    path = reference / "media" / "sample_00000000.wav"
    if not path.is_file():
        pytest.skip(f"real demo wav not found at {path}")
    return path


@pytest.fixture(scope="session")
def grey_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s, 25 fps, 64×48, stereo 44.1 kHz AAC; frame i is grey(i)."""
    pytest.importorskip("av", reason="media tests need the [media] extra (PyAV)")
    from tests.synth import write_clip

    return write_clip(tmp_path_factory.mktemp("clips") / "grey.mp4")
