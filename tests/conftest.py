"""Shared fixtures: paths into ../shared/reference (never copied into the project)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub, point_clients_at

REFERENCE = Path(
    os.environ.get("OVMER_REFERENCE_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "reference")
).resolve()
RUN = "emercoarse_highlevelfilter4_outputhybird_bestsetup_bestfusion_lz_20250110100"


def results_with_broken_checkpoint(published: Path, tmp_path: Path) -> Path:
    """A copy of the published MER2023 results under ``tmp_path / "results"`` whose epoch-35 checkpoint
    is garbage (not a readable .npz)."""
    import shutil

    results = tmp_path / "results"
    shutil.copytree(published / "results-mer2023", results / "results-mer2023")
    broken = results / "results-mer2023" / RUN / "checkpoint_000035_loss_0.597-openset.npz"
    broken.chmod(0o644)
    broken.write_bytes(b"garbage")
    return results


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


@pytest.fixture(scope="session")
def maps(wheel_dir: Path):  # type: ignore[no-untyped-def]
    """The emotion-wheel maps built straight from the reference files (no cache, no download)."""
    from ovmer.labels.wheel import build_wheel_maps

    return build_wheel_maps(wheel_dir)


@pytest.fixture(scope="session")
def mapper(maps):  # type: ignore[no-untyped-def]
    from ovmer.labels.mapping import LabelMapper

    return LabelMapper(maps)


@pytest.fixture(scope="session")
def published(reference: Path) -> Path:
    """The released AffectGPT outputs (MER2023 and CMU-MOSI, seven epochs each)."""
    return reference / "published" / "affectgpt"


@pytest.fixture(scope="session")
def gt_root(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GT_ROOT in the official layout: links to the reference label folders."""
    root = tmp_path_factory.mktemp("gt_root")
    for folder in (reference / "labels").iterdir():
        (root / folder.name).symlink_to(folder, target_is_directory=True)
    return root


@pytest.fixture
def fake_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A Hugging Face Hub on 127.0.0.1 that huggingface_hub and transformers download from (online,
    empty HF cache, OVMER_OFFLINE/HF_HUB_OFFLINE unset). Put files in with ``fake_hub.add_commit``."""
    hub = FakeHub().start()
    point_clients_at(hub, monkeypatch, tmp_path_factory.mktemp("hf_home"))
    yield hub
    hub.stop()
