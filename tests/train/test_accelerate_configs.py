"""The shipped ``configs/accelerate/*.yaml`` are valid for the pinned accelerate and say what they claim.

FSDP and DeepSpeed need GPUs (accelerate enables them only on GPU-type back-ends), so they cannot be
run here; this checks the step before: ``accelerate launch`` turns each file into the environment of
the training processes, and accelerate builds its FSDP plugin from it, wrapping the LLM's real
decoder-layer class.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" / "accelerate"


def launch_environment(config: Path) -> dict[str, str]:
    """The environment ``accelerate launch --config_file CONFIG -m ovmer train …`` gives each process
    (plus ``NUM_PROCESSES`` / ``NUM_MACHINES``, which accelerate passes to torchrun as arguments)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(config), "-m", "ovmer", "train", "x"])
    args, defaults, _ = _validate_launch_command(args)
    if args.use_deepspeed:  # as accelerate's launch_command does before starting DeepSpeed
        fields = list(defaults.deepspeed_config) + (
            ["mixed_precision"] if defaults.mixed_precision != "no" else []
        )
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        env = prepare_deepspeed_cmd_env(args)[1]
    else:
        env = prepare_multi_gpu_env(args)
    return {**env, "NUM_PROCESSES": str(args.num_processes), "NUM_MACHINES": str(args.num_machines)}


def test_every_config_opens_with_its_command() -> None:
    files = sorted(CONFIGS.glob("*.yaml"))
    assert {f.stem for f in files} >= {"multi-gpu", "multi-node", "fsdp", "deepspeed-zero2"}
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Run with"), path
        assert f"accelerate launch --config_file configs/accelerate/{path.name}" in first, path


@pytest.mark.parametrize(
    ("name", "processes", "machines"), [("multi-gpu", "8", "1"), ("multi-node", "16", "2")]
)
def test_data_parallel_configs(name: str, processes: str, machines: str) -> None:
    env = launch_environment(CONFIGS / f"{name}.yaml")
    assert env["ACCELERATE_MIXED_PRECISION"] == "fp16"  # the paper's AMP (docs/training.md, 'Named configs')
    assert "ACCELERATE_USE_FSDP" not in env and "ACCELERATE_USE_DEEPSPEED" not in env
    assert (env["NUM_PROCESSES"], env["NUM_MACHINES"]) == (processes, machines)


def test_fsdp_config_wraps_the_qwen2_decoder_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    from accelerate.utils import FullyShardedDataParallelPlugin
    from transformers.models.qwen2.modeling_qwen2 import Qwen2DecoderLayer

    from ovmer.models.modeling_affectgpt import AffectGPTModel
    from ovmer.models.tiny import tiny_config, tiny_tokenizer

    env = launch_environment(CONFIGS / "fsdp.yaml")
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.transformer_cls_names_to_wrap == ["Qwen2DecoderLayer"]
    assert plugin.state_dict_type.name == "FULL_STATE_DICT"  # what save_checkpoint gathers
    # the class named in the file is the one the LLM is made of
    tok = tiny_tokenizer()
    model = AffectGPTModel(tiny_config("face", tok))
    layers = {type(m) for m in model.llm.modules() if type(m).__name__ == "Qwen2DecoderLayer"}
    assert layers == {Qwen2DecoderLayer}


def test_deepspeed_config() -> None:
    """ZeRO-2 without offload, fp16 (DeepSpeed itself is a GPU install and is not needed to check this)."""
    env = launch_environment(CONFIGS / "deepspeed-zero2.yaml")
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true" and env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "2"
    assert env["ACCELERATE_DEEPSPEED_OFFLOAD_OPTIMIZER_DEVICE"] == "none"
    assert env["ACCELERATE_MIXED_PRECISION"] == "fp16"
