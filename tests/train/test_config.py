from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.errors import TrainConfigError
from ovmer.train.config import (
    config_from_dict,
    load_train_config,
    named_train_configs,
    resolve_config_path,
)

PAPER = ["mercaptionplus-face", "mercaptionplus-frame", "ovmerd-face", "ovmerd-frame"]


def test_named_configs_open_with_their_command() -> None:
    assert set(PAPER) | {"tiny-face"} <= set(named_train_configs())
    for name in named_train_configs():
        first = resolve_config_path(name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"# Run with: ovmer train {name}"), (name, first)


@pytest.mark.parametrize("name", PAPER)
def test_paper_configs_reproduce_the_recipe(name: str) -> None:
    cfg = load_train_config(name, ["data.root=/data"])
    # docs/training.md, 'Named configs': AdamW 1e-5 constant, wd 0.05, betas (0.9, 0.999), batch 3,
    # fp16 + scaler, 60 epochs.
    assert (cfg.optim.lr, cfg.optim.schedule, cfg.optim.weight_decay) == (1e-5, "constant", 0.05)
    assert cfg.optim.betas == [0.9, 0.999] and cfg.optim.max_grad_norm is None
    assert (cfg.run.batch_size, cfg.run.gradient_accumulation_steps, cfg.run.seed) == (3, 1, 42)
    assert cfg.run.mixed_precision == "fp16" and cfg.run.epochs == 60
    assert cfg.run.iters_per_epoch == (5000 if name.startswith("mercaptionplus") else 500)
    assert cfg.data.tasks == ["description", "ovlabels"] and cfg.data.max_length == 1024
    assert cfg.model.encoders_train_mode and cfg.model.audio_normalization == "joint_batch"
    assert cfg.model.config == f"affectgpt-{name.split('-')[1]}"
    assert cfg.total_steps == cfg.run.epochs * cfg.run.iters_per_epoch


def test_overrides_are_type_checked() -> None:
    base = {"data": {"root": "/d"}}
    cfg = config_from_dict(base, ["run.batch_size=8", "optim.lr=2e-5", "run.log_with=[tensorboard]"])
    assert cfg.run.batch_size == 8 and cfg.optim.lr == 2e-5 and cfg.run.log_with == ["tensorboard"]
    assert config_from_dict(base, ["run.max_steps=null"]).run.max_steps is None
    with pytest.raises(TrainConfigError, match="integer"):
        config_from_dict(base, ["run.batch_size=three"])
    with pytest.raises(TrainConfigError, match=r"unknown config key 'run\.batchsize'"):
        config_from_dict(base, ["run.batchsize=3"])
    with pytest.raises(TrainConfigError, match="not one of"):
        config_from_dict(base, ["run.mixed_precision=fp8"])
    with pytest.raises(TrainConfigError, match="true or false"):
        config_from_dict(base, ["model.encoders_train_mode=3"])


def test_feature_cache_needs_clean_mode() -> None:
    with pytest.raises(TrainConfigError, match="encoders_train_mode=false"):
        config_from_dict({"data": {"root": "/d", "feature_cache": "/c"}})
    with pytest.raises(TrainConfigError, match="per_sample"):
        config_from_dict(
            {"data": {"root": "/d", "feature_cache": "/c"}, "model": {"encoders_train_mode": False}}
        )


def test_missing_data_location_is_explained(tmp_path: Path) -> None:
    with pytest.raises(TrainConfigError, match=r"data\.root"):
        load_train_config("mercaptionplus-face")
    with pytest.raises(TrainConfigError, match=r"data\.dataset: unknown dataset 'mercaptionplu'.*csv:PATH"):
        load_train_config("mercaptionplus-face", ["data.dataset=mercaptionplu", "data.root=/d"])
    assert load_train_config("tiny-face", ["data.dataset=csv:/m.csv"]).data.root is None  # manifest: no root
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  epochz: 3\n")
    with pytest.raises(TrainConfigError, match=r"bad\.yaml.*epochz"):
        load_train_config(bad)


def test_the_weights_source_is_a_field_not_part_of_the_name() -> None:
    tiny = load_train_config("tiny-face", ["data.dataset=csv:/m.csv"])
    assert (tiny.model.config, tiny.model.weights) == ("affectgpt-face", "random_tiny")
    assert {load_train_config(name, ["data.root=/d"]).model.weights for name in PAPER} == {"hub"}
    with pytest.raises(TrainConfigError, match="not one of"):
        config_from_dict({"data": {"root": "/d"}}, ["model.weights=tiny"])
    retired = ["data.dataset=csv:/m.csv", "model.config=tiny-frame"]
    with pytest.raises(TrainConfigError, match=r"model\.config=affectgpt-frame model\.weights=random_tiny"):
        load_train_config("tiny-face", retired)
    with pytest.raises(TrainConfigError, match=r"model\.weights=random_full"):
        load_train_config("tiny-face", ["data.dataset=csv:/m.csv", "model.random_llm_layers=1"])
