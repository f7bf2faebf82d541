from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.helpers import cached_tiny


@pytest.fixture(scope="session")
def tiny_frame_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny frame model (random backbones included, tokenizer included)."""
    return cached_tiny(tmp_path_factory, "frame", 0)


@pytest.fixture(scope="session")
def tiny_face_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cached_tiny(tmp_path_factory, "face", 3)


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model tests never reach the Hugging Face hub (the ``fake_hub`` fixture undoes this for a local one)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
