from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.helpers import save_tiny


@pytest.fixture(scope="session")
def tiny_frame_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny frame model (random backbones included, tokenizer included)."""
    return save_tiny(tmp_path_factory.mktemp("tiny-frame"), "frame", seed=0)


@pytest.fixture(scope="session")
def tiny_face_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-face"), "face", seed=3)


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model tests never reach the Hugging Face hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
