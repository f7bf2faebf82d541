"""Checkpoints and resume: :class:`TrainState` saves and restores a run's position and optimiser state.

A checkpoint ``<run>/checkpoints/step_%07d/`` is a loadable ovmer model folder (the trainable weights,
the config and tokenizer) plus::

    training_state.pt     optimizer, scheduler, gradient scaler, step, epoch loss, world size, config
    rng_rank<r>.pt        each process's Python / NumPy / torch / CUDA RNG state
    checkpoint.json       step, epoch and the epoch's mean loss (for people and the official file name)
    accelerate_state/     under FSDP / DeepSpeed only: the sharded optimizer state

It is built in a temporary folder and renamed, so a killed run never leaves half a checkpoint. Both
``.pt`` files hold only tensors and plain data and are read with ``torch.load(weights_only=True)``:
a file that asks to build any other object is refused before anything runs (docs/security.md). The
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
from ovmer.errors import ModelError, TrainConfigError, TrainStateError
from ovmer.train.config import TrainConfig
from ovmer.train.model import BuiltModel

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.pt"
SHARDED_STATE_DIR = "accelerate_state"
SUMMARY_FILE = "checkpoint.json"

#: The type each entry of ``training_state.pt`` must have (what :meth:`TrainState._state_dict` writes).
_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "optimizer": (dict, type(None)),
    "scheduler": (dict,),
    "scaler": (dict, type(None)),
    "step": (int,),
    "epoch": (int,),
    "epoch_loss": (list, tuple),
    "world_size": (int,),
    "train_config": (dict, type(None)),
}


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
        path = checkpoint / STATE_FILE
        state = load_training_state(path, required=("optimizer", "scheduler", "step"))
        try:
            if state["optimizer"] is None:  # written by a sharded (FSDP / DeepSpeed) run
                # accelerate reads these files weights-only too (accelerate.utils.load)
                accelerator.load_state(str(checkpoint / SHARDED_STATE_DIR))
            else:
                self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if accelerator.scaler is not None and state.get("scaler"):
                accelerator.scaler.load_state_dict(state["scaler"])
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise TrainStateError(
                f"{path}: the saved optimizer/scheduler state does not fit this run ({exc}); resume with "
                "the settings the run was started with, or start a new run folder"
            ) from exc
        self.step = state["step"]
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
            try:
                set_rng_state(load_rng_state(rng_file))
            except TrainStateError as exc:
                raise TrainStateError(f"{rng_file}: {exc}") from exc


def _load_weights_only(path: Path, allowed: list[Any] | None = None) -> Any:
    """``torch.load(path, weights_only=True)`` with ``allowed`` extra globals; any failure names the file."""
    try:
        with torch.serialization.safe_globals(allowed or []):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on foreign bytes; none may escape as a traceback
        raise TrainStateError(
            f"{path}: refused, not a weights-only torch file ({_load_failure(exc)}). ovmer reads "
            "training state with torch.load(weights_only=True) and never runs code from a file "
            "(docs/security.md); start a new run folder or use a checkpoint ovmer wrote"
        ) from None


def _load_failure(exc: Exception) -> str:
    """The line of torch's error that says what was refused (its advice to load unsafely is left out)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(" Please use")[0].strip()
    return lines[0] if lines else type(exc).__name__


def load_training_state(path: Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read ``training_state.pt`` weights-only and check each entry's type (:data:`_STATE_TYPES`).

    Args:
        path: the file.
        required: entries that must be present (resume needs ``optimizer``, ``scheduler``, ``step``).

    Raises:
        TrainStateError: unreadable, not weights-only, or an entry missing or of the wrong type.
    """
    state = _load_weights_only(Path(path))
    if not isinstance(state, dict):
        raise TrainStateError(f"{path}: holds a {type(state).__name__}, not a training-state dict")
    missing = [key for key in required if key not in state]
    if missing:
        raise TrainStateError(f"{path}: no {missing} entry; not a training state ovmer wrote")
    for key, types in _STATE_TYPES.items():
        if key in state and not isinstance(state[key], types):
            raise TrainStateError(f"{path}: entry {key!r} is a {type(state[key]).__name__}")
    for key in ("step", "epoch", "world_size"):
        if key in state and state[key] < 0:
            raise TrainStateError(f"{path}: entry {key!r} is negative ({state[key]})")
    loss = state.get("epoch_loss", (0.0, 0))
    if len(loss) != 2 or not all(isinstance(x, (int, float)) for x in loss):
        raise TrainStateError(f"{path}: entry 'epoch_loss' must be [sum, count], got {loss!r}")
    return state


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
    """This process's Python, NumPy, torch and (where present) CUDA RNG states, as tensors and plain
    data (so that ``torch.load(weights_only=True)`` reads them back).

    NumPy's state is ``np.random.get_state()`` with its key array as a list: ``{"bit_generator",
    "key", "pos", "has_gauss", "gauss"}``.
    """
    name, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": str(name),
            "key": [int(k) for k in key],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _legacy_numpy_globals() -> list[Any]:
    """NumPy's array reconstruction, which ``rng_rank<r>.pt`` files of ovmer before weights-only
    loading need (they pickled ``np.random.get_state()``'s array); the same globals
    :mod:`ovmer.safe_pickle` allows for label files, and no others."""
    try:
        from numpy._core.multiarray import _reconstruct  # type: ignore[attr-defined]  # NumPy 2
    except ImportError:
        from numpy.core.multiarray import _reconstruct  # type: ignore[attr-defined]  # NumPy 1
    # Both spellings: a file pickled under NumPy 1 names numpy.core, one under NumPy 2 numpy._core.
    return [
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        np.dtypes.UInt32DType,
    ]


def load_rng_state(path: Path) -> dict[str, Any]:
    """Read an ``rng_rank<r>.pt`` weights-only, in the layout :func:`rng_state` returns.

    Files written before weights-only loading (NumPy's state as a pickled array) still load.

    Raises:
        TrainStateError: unreadable, not weights-only, or not an RNG state.
    """
    saved = _load_weights_only(Path(path), _legacy_numpy_globals())
    if not isinstance(saved, dict) or not {"python", "numpy", "torch"} <= set(saved):
        raise TrainStateError(f"{path}: not an RNG state (needs python, numpy and torch entries)")
    numpy_state = saved["numpy"]
    if isinstance(numpy_state, tuple) and len(numpy_state) == 5:  # the legacy layout
        name, key, pos, has_gauss, gauss = numpy_state
        numpy_state = {"bit_generator": name, "key": key, "pos": pos, "has_gauss": has_gauss, "gauss": gauss}
    if not isinstance(numpy_state, dict):
        raise TrainStateError(f"{path}: entry 'numpy' is a {type(numpy_state).__name__}, not an RNG state")
    if not isinstance(saved["torch"], torch.Tensor):
        raise TrainStateError(f"{path}: entry 'torch' is not a tensor")
    return {**saved, "numpy": numpy_state}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` (or :func:`load_rng_state`) returned.

    Raises:
        TrainStateError: a state the RNGs do not accept.
    """
    numpy_state = state["numpy"]
    try:
        random.setstate(tuple(state["python"]))
        np.random.set_state(
            (
                numpy_state["bit_generator"],
                np.asarray(numpy_state["key"], dtype=np.uint32),
                numpy_state["pos"],
                numpy_state["has_gauss"],
                numpy_state["gauss"],
            )
        )
        torch.set_rng_state(state["torch"])
    except (KeyError, TypeError, ValueError, OverflowError, RuntimeError) as exc:
        raise TrainStateError(f"saved RNG state is not one this process accepts ({exc})") from exc
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
        state = load_training_state(checkpoint / STATE_FILE)
    summary: dict[str, Any] = {}
    if (checkpoint / SUMMARY_FILE).is_file():
        try:
            summary = json.loads((checkpoint / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TrainStateError(f"{checkpoint / SUMMARY_FILE}: not a JSON object ({exc})") from exc
        if not isinstance(summary, dict) or not isinstance(summary.get("epoch_mean_loss", 0.0), (int, float)):
            raise TrainStateError(
                f"{checkpoint / SUMMARY_FILE}: expected an object with a numeric epoch_mean_loss"
            )
    return write_official_checkpoint(
        out,
        load_file(str(checkpoint / TRAINABLE_FILE)),
        epoch=state.get("epoch", 0),
        epoch_mean_loss=summary.get("epoch_mean_loss", 0.0),
        optimizer=state.get("optimizer"),
        config=state.get("train_config"),
        scaler=state.get("scaler"),
    )
