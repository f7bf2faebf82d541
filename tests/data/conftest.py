"""Shared media for dataset trees: one tiny clip, one avi and one wav, synthesized once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("av", reason="dataset tests synthesize media with PyAV ([media] extra)")
    from tests.synth import write_clip, write_wav

    folder = tmp_path_factory.mktemp("media")
    tone = 0.2 * np.sin(2 * np.pi * 300 * np.arange(16_000) / 16_000)
    return {
        "clip": write_clip(folder / "clip.mp4", seconds=0.4, width=32, height=32),
        "avi": write_clip(folder / "clip.avi", seconds=0.4, width=32, height=32, codec="mpeg4"),
        "silent": write_clip(folder / "silent.mp4", seconds=0.4, width=32, height=32, audio=False),
        "wav": write_wav(folder / "tone.wav", tone[None, :]),
    }
