"""Official-layout checkpoints load strictly; convert/inspect; loud failures.

Layout and loading rules: docs/model.md, 'Official checkpoints' and 'Checkpoint files'.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.errors import CheckpointKeyError, ModelError
from ovmer.models.checkpoint import official_state_dict
from ovmer.models.loading import TRAINABLE_FILE, convert_checkpoint, load_model, save_pretrained
from tests.models.helpers import make_tiny, write_official_pth

HEAD_KEYS = 20


def _other_weights(tiny_frame_dir: Path, tmp_path: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """A different tiny model (same config) saved as an official .pth."""
    model, _ = make_tiny("frame", seed=11)
    # Same architecture and tokenizer as the saved folder; only trainables differ.
    pth = write_official_pth(model, tmp_path / "checkpoint_000030_loss_0.602.pth")
    return official_state_dict(model), pth


def test_strict_load_from_pth(tiny_frame_dir: Path, tmp_path: Path) -> None:
    expected, pth = _other_weights(tiny_frame_dir, tmp_path)
    loaded = load_model(pth, config=tiny_frame_dir, merge_lora=False)
    got = official_state_dict(loaded.model)
    assert got.keys() == expected.keys()
    assert len(got) == 2 * 7 * 2 + HEAD_KEYS  # 2 layers × 7 targets × (A, B) + heads
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])


def test_renamed_key_fails_naming_it(tiny_frame_dir: Path, tmp_path: Path) -> None:
    model, _ = make_tiny("frame", seed=1)
    pth = write_official_pth(model, tmp_path / "bad.pth", rename={"fc_att.weight": "fc_attn.weight"})
    with pytest.raises(CheckpointKeyError) as info:
        load_model(pth, config=tiny_frame_dir)
    message = str(info.value)
    assert "fc_attn.weight" in message and "fc_att.weight" in message
    assert "unexpected" in message and "missing" in message


def test_missing_and_misshaped_keys(tiny_frame_dir: Path, tmp_path: Path) -> None:
    model, _ = make_tiny("frame", seed=1)
    state = official_state_dict(model)
    lora_key = next(k for k in state if "lora_A" in k)
    del state[lora_key]
    state["affectgpt_proj.bias"] = torch.zeros(7)
    torch.save({"model": state, "epoch": 1}, tmp_path / "broken.pth")
    with pytest.raises(CheckpointKeyError) as info:
        load_model(tmp_path / "broken.pth", config=tiny_frame_dir)
    assert lora_key in str(info.value)
    assert "affectgpt_proj.bias (7,)" in str(info.value)


def test_convert_then_load_without_original(tiny_frame_dir: Path, tmp_path: Path) -> None:
    expected, pth = _other_weights(tiny_frame_dir, tmp_path)
    out = tmp_path / "converted"
    convert_checkpoint(pth, tiny_frame_dir, out)
    pth.unlink()
    assert set(load_file(str(out / TRAINABLE_FILE))) == set(expected)
    adapter = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert all(".default." not in k and k.startswith("base_model.model.model.layers.") for k in adapter)
    assert len(adapter) == 28
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (16, 32)
    loaded = load_model(out, merge_lora=False)
    for key, value in official_state_dict(loaded.model).items():
        torch.testing.assert_close(value, expected[key])


def test_convert_rejects_wrong_variant_layout(tmp_path: Path) -> None:
    model, _ = make_tiny("frame", seed=1)
    pth = write_official_pth(model, tmp_path / "tiny.pth")
    with pytest.raises(CheckpointKeyError, match="shape mismatch"):
        convert_checkpoint(pth, "affectgpt-frame", tmp_path / "out")  # tiny file vs full-size config


def test_refuses_arbitrary_pickle(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    with open(path, "wb") as handle:
        pickle.dump({"model": Payload()}, handle, protocol=2)
    with pytest.raises(ModelError, match="weights-only"):
        load_model(path, config="affectgpt-frame")


def test_cli_inspect_and_convert(tiny_frame_dir: Path, tmp_path: Path) -> None:
    _, pth = _other_weights(tiny_frame_dir, tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["checkpoint", "inspect", str(pth)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["tensors"] == 48 and info["lora_tensors"] == 28 and info["head_tensors"] == 20
    assert info["epoch"] == 30 and info["lora_rank"] == [16] and info["lora_layers"] == 2
    assert info["entries"] == ["config", "epoch", "model", "optimizer", "scaler"]
    result = runner.invoke(
        app,
        ["checkpoint", "convert", str(pth), "--config", str(tiny_frame_dir), "--out", str(tmp_path / "c")],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "config.json").is_file()
    missing = runner.invoke(app, ["checkpoint", "inspect", str(tmp_path / "nope.pth")])
    assert missing.exit_code == 2 and "nope.pth" in missing.output


def test_save_pretrained_and_load_model_round_trip(tiny_frame_dir: Path, tmp_path: Path) -> None:
    model = load_model(tiny_frame_dir, merge_lora=False).model
    folder = save_pretrained(model, tmp_path / "again", include_backbones=True)
    (folder / "tokenizer").symlink_to(tiny_frame_dir / "tokenizer")
    again = load_model(folder, merge_lora=False).model
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    merged = load_model(folder).model
    with pytest.raises(ModelError, match="merged"):
        save_pretrained(merged, tmp_path / "no")


def test_resolve_checkpoint_messages(tmp_path: Path) -> None:
    from ovmer.models.checkpoint import RELEASE_REPO, resolve_checkpoint

    with pytest.raises(ModelError, match="--filename"):
        resolve_checkpoint(RELEASE_REPO)
    with pytest.raises(ModelError, match=r"cannot download x\.pth from MERChallenge/AffectGPT"):
        resolve_checkpoint(RELEASE_REPO, "x.pth")  # offline in tests
    local = tmp_path / "c.pth"
    local.write_bytes(b"")
    assert resolve_checkpoint(str(local)) == local
