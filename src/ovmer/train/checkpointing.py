"""Checkpoints and resume: :class:`TrainState` saves and restores a run's position and optimiser state.

A checkpoint ``<run>/checkpoints/step_%07d/`` is a loadable ovmer model folder (the trainable weights,
the config and tokenizer) plus::

    training_state.pt     optimizer, scheduler, gradient scaler, step, epoch loss, world size, config
    rng_rank<r>.pt        each process's Python / NumPy / torch / CUDA RNG state
    checkpoint.json       step, epoch and the epoch's mean loss (for people and the official file name)
    accelerate_state/     under FSDP / DeepSpeed only: the sharded optimizer state

It is built in a temporary folder and renamed, so a killed run never leaves half a checkpoint. The
sample stream is a function of the step (:class:`ovmer.train.data.HybridTaskSampler`), so the step is
the data position, and with the RNG states restored a resumed run continues bit for bit
(docs/training.md, "Run folder, checkpoints, resume").
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.atomic import write_json_atomic
from ovmer.errors import ModelError, TrainConfigError
from ovmer.train.config import TrainConfig
from ovmer.train.model import BuiltModel

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.pt"
SHARDED_STATE_DIR = "accelerate_state"
SUMMARY_FILE = "checkpoint.json"


@dataclass
class TrainState:
    """Where a run is, and the objects whose state a checkpoint holds besides the weights.

    ``prepared`` is the model as accelerate wrapped it (DDP, FSDP …) and ``optimizer`` the prepared
    optimizer. The epoch loss (sum and count of the current upstream epoch's step losses) names the
    official ``.pth`` of the epoch.
    """

    cfg: TrainConfig
    accelerator: Any
    built: BuiltModel
    prepared: Any
    optimizer: Any
    scheduler: Any
    step: int = 0
    epoch_loss_sum: float = 0.0
    epoch_steps: int = 0

    def advance(self, loss: float) -> None:
        """Count one optimiser step whose loss (mean over processes) was ``loss``."""
        self.step += 1
        self.epoch_loss_sum += loss
        self.epoch_steps += 1

    @property
    def at_epoch_end(self) -> bool:
        """The step closes an upstream "epoch" (a fixed number of steps); step 0 counts as epoch 0's end."""
        return self.step % self.cfg.run.iters_per_epoch == 0

    def checkpoint_due(self) -> bool:
        """A checkpoint is written at every epoch end, at the last step and every ``run.save_every_steps``."""
        every = self.cfg.run.save_every_steps
        return (
            self.at_epoch_end or self.step == self.cfg.total_steps or bool(every and self.step % every == 0)
        )

    def start_epoch(self) -> None:
        self.epoch_loss_sum, self.epoch_steps = 0.0, 0

    def save(self) -> Path:
        """Write ``checkpoints/step_%07d`` for the current step atomically and return its path.

        Every process takes part: each writes its RNG state, and under FSDP / DeepSpeed accelerate
        gathers the weights and writes every process's optimizer shard. The main process writes the
        rest, renames the folder and prunes old checkpoints (``run.keep_last``).
        """
        from ovmer.models.loading import save_pretrained

        accelerator, built = self.accelerator, self.built
        folder = Path(self.cfg.run.output_dir) / CHECKPOINTS_DIR
        final = folder / f"step_{self.step:07d}"
        tmp = folder / f".step_{self.step:07d}.tmp"
        main = accelerator.is_main_process
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        accelerator.wait_for_everyone()
        torch.save(rng_state(), tmp / f"rng_rank{accelerator.process_index}.pt")
        sharded = is_sharded(accelerator)
        full = None
        if sharded:
            full = accelerator.get_state_dict(self.prepared)
            accelerator.save_state(str(tmp / SHARDED_STATE_DIR))
        if main:
            save_pretrained(
                built.model, tmp, built.processor, include_backbones=built.local_backbones, full_state=full
            )
            torch.save(self._state_dict(sharded), tmp / STATE_FILE)
            write_json_atomic(tmp / SUMMARY_FILE, self._summary())
        accelerator.wait_for_everyone()
        if main:
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            _prune(folder, self.cfg.run.keep_last)
        accelerator.wait_for_everyone()
        return final

    def _state_dict(self, sharded: bool) -> dict[str, Any]:
        scaler = self.accelerator.scaler
        return {
            # Sharded optimizer state lives in accelerate_state/ instead.
            "optimizer": None if sharded else self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "step": self.step,
            "epoch": self.step // self.cfg.run.iters_per_epoch,
            "epoch_loss": [self.epoch_loss_sum, self.epoch_steps],
            "world_size": self.accelerator.num_processes,
            "train_config": self.cfg.to_dict(),
        }

    def _summary(self) -> dict[str, Any]:
        mean = self.epoch_loss_sum / self.epoch_steps if self.epoch_steps else 0.0
        return {"step": self.step, "epoch": self.step / self.cfg.run.iters_per_epoch, "epoch_mean_loss": mean}

    def restore(self, checkpoint: Path) -> None:
        """Continue from ``checkpoint``: optimizer, scheduler, scaler, step, epoch loss and RNG state.

        The trainable weights are not restored here: load them with
        :func:`ovmer.models.loading.load_trainables` before accelerate prepares the model (FSDP
        shards the parameters in place).
        """
        accelerator = self.accelerator
        state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
        if state["optimizer"] is None:  # written by a sharded (FSDP / DeepSpeed) run
            accelerator.load_state(str(checkpoint / SHARDED_STATE_DIR))
        else:
            self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if accelerator.scaler is not None and state.get("scaler"):
            accelerator.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.epoch_loss_sum, self.epoch_steps = state.get("epoch_loss", [0.0, 0])
        if self.at_epoch_end:  # the saved loss is the ended epoch's: the next one starts from zero
            self.start_epoch()
        world = accelerator.num_processes
        rng_file = checkpoint / f"rng_rank{accelerator.process_index}.pt"
        if state.get("world_size") != world or not rng_file.is_file():
            log.warning(
                "resuming with %d process(es) from a %s-process run: not bit-for-bit",
                world,
                state.get("world_size"),
            )
        else:
            set_rng_state(torch.load(rng_file, weights_only=False))


def find_latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (temp folders of interrupted saves are ignored)."""
    folder = run_dir / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    done = sorted(p for p in folder.glob("step_*") if (p / STATE_FILE).is_file())
    return done[-1] if done else None


def resolve_resume(cfg: TrainConfig, run_dir: Path) -> Path | None:
    """The checkpoint ``run.resume`` asks for: the newest one (``auto``), none, or a given folder."""
    if cfg.run.resume == "never":
        return None
    if cfg.run.resume == "auto":
        return find_latest_checkpoint(run_dir)
    path = Path(cfg.run.resume)
    if not (path / STATE_FILE).is_file():
        raise TrainConfigError(f"run.resume={path} is not a training checkpoint ({STATE_FILE} missing)")
    return path


def _prune(folder: Path, keep_last: int | None) -> None:
    if not keep_last:
        return
    done = sorted(p for p in folder.glob("step_*") if (p / STATE_FILE).is_file())
    for old in done[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)


def is_sharded(accelerator: Any) -> bool:
    """True under FSDP or DeepSpeed, where parameters or optimizer state live in shards."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


# ---------------------------------------------------------------------- RNG
def rng_state() -> dict[str, Any]:
    """This process's Python, NumPy, torch and (where present) CUDA RNG states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and make cuDNN deterministic (as upstream's training)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


# ---------------------------------------------------------------------- official export
def export_official(checkpoint: str | Path, out: str | Path) -> Path:
    """Write a training checkpoint in upstream's ``.pth`` layout; returns the file written.

    The weights, optimizer, scaler, training config and epoch come from the checkpoint folder; the
    layout and file name are :func:`ovmer.models.checkpoint.write_official_checkpoint`'s. ``out`` is a
    folder (``checkpoint_%06d_loss_%.3f.pth`` is written in it) or a ``.pth`` path.
    """
    from safetensors.torch import load_file

    from ovmer.models.checkpoint import write_official_checkpoint
    from ovmer.models.loading import TRAINABLE_FILE

    checkpoint = Path(checkpoint)
    if not (checkpoint / TRAINABLE_FILE).is_file():
        raise ModelError(f"{checkpoint} is not a training checkpoint folder ({TRAINABLE_FILE} missing)")
    state: dict[str, Any] = {}
    if (checkpoint / STATE_FILE).is_file():
        state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
    summary: dict[str, Any] = {}
    if (checkpoint / SUMMARY_FILE).is_file():
        summary = json.loads((checkpoint / SUMMARY_FILE).read_text(encoding="utf-8"))
    return write_official_checkpoint(
        out,
        load_file(str(checkpoint / TRAINABLE_FILE)),
        epoch=int(state.get("epoch", 0)),
        epoch_mean_loss=summary.get("epoch_mean_loss", 0.0),
        optimizer=state.get("optimizer"),
        config=state.get("train_config"),
        scaler=state.get("scaler"),
    )
