"""Two-process data parallel training on CPU (gloo), started the way users start it: torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ovmer.train.recipe import train
from tests.train.conftest import tiny_config


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_processes_match_one_process_with_accumulation(
    manifest: Path, feature_cache: Path, tmp_path: Path
) -> None:
    # Dropout off: the two layouts draw random numbers on different processes. Everything else
    # (data order, tasks, gradients averaged over two micro-batches) must be the same.
    overrides = [
        f"data.dataset=csv:{manifest}",
        f"data.feature_cache={feature_cache}",
        "run.max_steps=3",
        "run.progress=false",
        "run.resume=never",
        "model.lora_dropout=0.0",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
        "-m", "ovmer", "train", "tiny-face", f"run.output_dir={tmp_path / 'ddp'}", *overrides,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=220)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = tmp_path / "ddp" / "checkpoints" / "step_0000003"
    assert (ddp / "rng_rank0.pt").is_file() and (ddp / "rng_rank1.pt").is_file()

    single = train(
        tiny_config(manifest, tmp_path / "one", *overrides[1:], "run.gradient_accumulation_steps=2")
    )
    a = load_file(str(ddp / "trainable.safetensors"))
    b = load_file(str(single.checkpoint / "trainable.safetensors"))  # type: ignore[operator]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-7)
    # and training moved the weights away from their start
    assert any(not torch.equal(v, torch.zeros_like(v)) for k, v in a.items() if "lora_B" in k)
