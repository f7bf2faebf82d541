from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def assets_env(wheel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ovmer at the reference emotion-wheel files (as a user would with OVMER_ASSETS_DIR)."""
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(wheel_dir))
    return wheel_dir
