"""Shared fixtures: paths into ../shared/reference (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE = Path(
    os.environ.get("OVMER_REFERENCE_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "reference")
).resolve()
RUN = "emercoarse_highlevelfilter4_outputhybird_bestsetup_bestfusion_lz_20250110100"


@pytest.fixture(scope="session")
def reference() -> Path:
    """The shared reference folder; tests that need it skip with a clear message when it is absent."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference fixtures not found at {REFERENCE} (set OVMER_REFERENCE_DIR)")
    return REFERENCE


@pytest.fixture(scope="session")
def wheel_dir(reference: Path) -> Path:
    return reference / "emotion_wheel"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets an empty ovmer cache and no network downloads unless it asks for them."""
    monkeypatch.setenv("OVMER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    monkeypatch.delenv("OVMER_ASSETS_DIR", raising=False)
    monkeypatch.delenv("OVMER_ASSETS_URL", raising=False)
