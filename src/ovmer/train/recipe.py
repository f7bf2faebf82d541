"""The AffectGPT training recipe: build, restore, loop over :func:`train_step`, log, checkpoint.

Read top to bottom: :func:`train` builds the model (:mod:`ovmer.train.model`) and data, prepares them
with Hugging Face accelerate (one process, DDP, FSDP or DeepSpeed, chosen by ``accelerate launch``),
restores a checkpoint if there is one (:mod:`ovmer.train.checkpointing`), then runs ``total_steps``
optimiser steps. Each step draws ``gradient_accumulation_steps`` micro-batches of ``batch_size``
samples per process from a deterministic stream (:class:`HybridTaskSampler`), so a checkpoint needs
only the step number as its data position; with the optimizer, scheduler, scaler and every RNG state
saved too, a resumed run continues bit-for-bit. Metrics go through :mod:`ovmer.train.run_log`.

Run folder (``run.output_dir``; docs/training.md)::

    config.yaml                 the resolved training config
    filtered.json               samples left out up front (missing target, too long)
    skipped.jsonl               samples whose media failed while training (dropped from their batch)
    metrics.jsonl               step, loss, lr, samples/s, tokens/s, step time
    loss_curve.png              redrawn when the run ends
    tensorboard/ …              accelerate trackers (run.log_with)
    checkpoints/step_0000300/   an ovmer model folder + training state (see ovmer.train.checkpointing)
    official/                   checkpoint_%06d_loss_%.3f.pth per epoch (run.write_official_pth)
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ovmer.atomic import write_json_atomic, write_text_atomic
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.train.checkpointing import (
    TrainState,
    export_official,
    is_sharded,
    resolve_resume,
    seed_everything,
)
from ovmer.train.config import TrainConfig, dump_yaml
from ovmer.train.model import BuiltModel, build_model
from ovmer.train.optim import build_optimizer
from ovmer.train.run_log import RunLog

if TYPE_CHECKING:
    from ovmer.train.data import TrainDataset

log = logging.getLogger(__name__)

#: Where ``run.write_official_pth`` puts the upstream-layout ``.pth`` files, inside the run folder.
OFFICIAL_DIR = "official"


@dataclass
class TrainResult:
    """What a run did: per-step mean losses (all processes), the final step and last checkpoint."""

    run_dir: Path
    start_step: int
    final_step: int
    losses: list[float] = field(default_factory=list)
    checkpoint: Path | None = None
    skipped: int = 0
    step_times: list[float] = field(default_factory=list)
    #: Non-padding tokens per optimiser step on this process (times world size for the global count).
    tokens_per_step: list[int] = field(default_factory=list)
    samples_per_step: int = 0


@dataclass
class StepOutcome:
    """One optimiser step as this process saw it."""

    #: The step's loss averaged over the micro-batches and the processes (0-d, on the device).
    loss: torch.Tensor
    samples: int
    #: Non-padding tokens of this process's micro-batches.
    tokens: int
    #: Samples dropped from this process's micro-batches because their media failed.
    skipped: list[dict[str, Any]]


def build_samples(cfg: TrainConfig) -> list[Any]:
    """The config's training samples, read through the dataset registry (``data.dataset``)."""
    from ovmer.train.data import read_train_samples

    return read_train_samples(cfg.data.root, cfg.data.dataset, cfg.data.split)


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) the training described by ``cfg``; returns losses and the last checkpoint.

    Gradients are switched on explicitly: a caller (or an earlier library call in the same process)
    may have disabled them globally with ``torch.set_grad_enabled(False)``.
    """
    with torch.enable_grad():
        return _train(cfg)


def _train(cfg: TrainConfig) -> TrainResult:
    cfg.validate()
    run_dir = Path(cfg.run.output_dir)
    accelerator = _accelerator(cfg)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", dump_yaml(cfg))

    # Build: the same initial weights on every process, then per-process randomness (seed + rank).
    seed_everything(cfg.run.seed)
    built = build_model(cfg, accelerator.device)
    dataset = _dataset(cfg, built, accelerator.is_main_process)
    fused = accelerator.device.type == "cuda" and not is_sharded(accelerator)
    optimizer, scheduler = build_optimizer(cfg, built.model, fused=fused)

    # Restore.
    state, resumed_from = _prepare_and_restore(cfg, accelerator, built, optimizer, scheduler)
    run_log = RunLog(cfg, accelerator, resumed_at=state.step if resumed_from is not None else None)
    batches = _batches(cfg, dataset, accelerator, state.step)
    _set_train_mode(cfg, state)
    samples_per_step = cfg.run.batch_size * cfg.run.gradient_accumulation_steps * accelerator.num_processes
    result = TrainResult(run_dir, state.step, state.step, samples_per_step=samples_per_step)
    if state.step == 0 and cfg.run.save_initial_checkpoint:
        result.checkpoint = _checkpoint(state)  # upstream's epoch 0: the untrained LoRA and heads

    # Loop, log, checkpoint.
    run_log.start(state.step)
    try:
        while state.step < cfg.total_steps:
            started = time.perf_counter()
            outcome = train_step(state, batches)
            run_log.record_skipped(state.step, outcome.skipped)
            loss = float(outcome.loss)
            result.step_times.append(time.perf_counter() - started)
            state.advance(loss)
            result.losses.append(loss)
            result.tokens_per_step.append(outcome.tokens)
            result.skipped += len(outcome.skipped)
            result.final_step = state.step
            run_log.add_step(state.step, outcome.loss, outcome.samples, outcome.tokens, _lr(state))
            if state.checkpoint_due():
                result.checkpoint = _checkpoint(state)
    finally:
        run_log.close()
    return result


def train_step(state: TrainState, batches: Iterator[dict[str, Any]]) -> StepOutcome:
    """One optimiser step: forward and backward over ``gradient_accumulation_steps`` micro-batches
    (gradients all-reduced on the last one only), then clipping, AdamW and the schedule."""
    accelerator, prepared = state.accelerator, state.prepared
    accum = state.cfg.run.gradient_accumulation_steps
    step_loss = torch.zeros((), device=accelerator.device)
    samples = tokens = 0
    skipped: list[dict[str, Any]] = []
    for micro in range(accum):
        batch = next(batches)
        skipped.extend(batch["skipped"])
        last = micro == accum - 1
        sync = contextlib.nullcontext() if last else accelerator.no_sync(prepared)
        with sync, accelerator.autocast():
            loss = _batch_loss(prepared, state.built.model, batch, accelerator.device)
            accelerator.backward(loss / accum)
        step_loss += loss.detach() / accum
        samples += batch["size"]
        tokens += int(batch["attention_mask"].sum()) if batch["size"] else 0
    if state.cfg.optim.max_grad_norm is not None:
        accelerator.clip_grad_norm_(prepared.parameters(), state.cfg.optim.max_grad_norm)
    state.optimizer.step()
    state.optimizer.zero_grad(set_to_none=True)
    state.scheduler.step()
    return StepOutcome(accelerator.reduce(step_loss, reduction="mean"), samples, tokens, skipped)


def _batch_loss(
    prepared: Any, model: AffectGPTModel, batch: dict[str, Any], device: torch.device
) -> torch.Tensor:
    """Mean cross-entropy over the batch's answer tokens (docs/training.md, "Named configs").

    A batch whose every sample failed still runs a zero-valued loss over all trainables so that every
    process takes part in the gradient all-reduce.
    """
    if batch["size"] == 0:
        return sum(
            (p.sum() * 0.0 for _, p in model.trainable_named_parameters()), torch.zeros((), device=device)
        )
    keys = (
        "input_ids",
        "attention_mask",
        "labels",
        "pixel_values",
        "audio_values",
        "visual_features",
        "audio_features",
    )
    inputs = {k: batch[k].to(device, non_blocking=True) for k in keys if k in batch}
    inputs.setdefault("pixel_values", None)
    inputs.setdefault("audio_values", None)
    return prepared(**inputs).loss


def _checkpoint(state: TrainState) -> Path:
    """Save a checkpoint; at an epoch end also the official ``.pth`` (``run.write_official_pth``)."""
    path = state.save()
    if state.at_epoch_end:
        if state.accelerator.is_main_process and state.cfg.run.write_official_pth:
            export_official(path, Path(state.cfg.run.output_dir) / OFFICIAL_DIR)
        state.start_epoch()
    return path


def _lr(state: TrainState) -> float:
    return float(state.scheduler.get_last_lr()[0])


# ---------------------------------------------------------------------- set-up
def _accelerator(cfg: TrainConfig) -> Any:
    """An accelerate ``Accelerator`` for ``cfg`` (the process layout comes from ``accelerate launch``)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    use_cpu = cfg.run.cpu or not torch.cuda.is_available()
    # CPUs have bf16 autocast but no fp16 one (accelerate would silently run fp32): say so.
    mixed = "no" if use_cpu and cfg.run.mixed_precision == "fp16" else cfg.run.mixed_precision
    if mixed != cfg.run.mixed_precision:
        log.info("run.mixed_precision=fp16 needs a GPU; training in fp32 on the CPU (bf16 works there)")
    _forget_previous_run_settings()
    return Accelerator(
        cpu=use_cpu,
        mixed_precision=mixed,
        log_with=cfg.run.log_with or None,
        project_dir=str(Path(cfg.run.output_dir)),
        # image_llama_proj never receives gradients (as upstream; docs/training.md): DDP must allow that.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def _forget_previous_run_settings() -> None:
    """Let a second ``train`` in the same process (a notebook, a sweep) use other settings.

    accelerate keeps the first run's mixed precision and device in a process-wide singleton and
    refuses different ones later; the process group itself (``PartialState``) is kept.
    """
    from accelerate.state import AcceleratorState

    reset = getattr(AcceleratorState, "_reset_state", None)
    if reset is not None:
        reset(reset_partial_state=False)


def _dataset(cfg: TrainConfig, built: BuiltModel, main: bool) -> TrainDataset:
    """The training dataset: samples that fit (the others listed in ``filtered.json``), cache or media."""
    from ovmer.train.data import TrainDataset, filter_by_length
    from ovmer.train.features import FeatureCache, encoder_fingerprint

    run_dir = Path(cfg.run.output_dir)
    processor = built.processor
    samples, dropped = filter_by_length(build_samples(cfg), processor, cfg.data.tasks, cfg.data.max_length)
    if main:
        write_json_atomic(run_dir / "filtered.json", {"kept": len(samples), "dropped": dropped})
        if dropped:
            log.warning(
                "%d sample(s) left out before training; see %s", len(dropped), run_dir / "filtered.json"
            )
    cache = None
    if cfg.data.feature_cache:
        cache = FeatureCache(cfg.data.feature_cache, encoder_fingerprint(built.model, built.local_backbones))
    return TrainDataset(samples, processor, cache)


def _prepare_and_restore(
    cfg: TrainConfig, accelerator: Any, built: BuiltModel, optimizer: Any, scheduler: Any
) -> tuple[TrainState, Path | None]:
    """Hand model and optimizer to accelerate and continue from ``run.resume``'s checkpoint, if any;
    otherwise seed each process with ``run.seed + rank`` (as upstream)."""
    from ovmer.models.loading import load_trainables

    resume_from = resolve_resume(cfg, Path(cfg.run.output_dir))
    if resume_from is not None:
        load_trainables(built.model, resume_from)  # before prepare(): FSDP shards parameters in place
    prepared, optimizer = accelerator.prepare(built.model, optimizer)
    state = TrainState(cfg, accelerator, built, prepared, optimizer, scheduler)
    if resume_from is None:
        seed_everything(cfg.run.seed + accelerator.process_index)
    else:
        state.restore(resume_from)
        if accelerator.is_main_process:
            log.info("resumed from %s at step %d", resume_from, state.step)
    return state, resume_from


def _batches(
    cfg: TrainConfig, dataset: TrainDataset, accelerator: Any, start_step: int
) -> Iterator[dict[str, Any]]:
    """The micro-batches of this process from ``start_step`` on (the data position of a checkpoint)."""
    from ovmer.train.data import HybridTaskSampler, build_loader

    sampler = HybridTaskSampler(
        len(dataset),
        cfg.data.tasks,
        cfg.run.batch_size,
        accelerator.num_processes,
        accelerator.process_index,
        cfg.run.gradient_accumulation_steps,
        cfg.run.seed,
    )
    return iter(build_loader(dataset, sampler, start_step, cfg.total_steps, cfg.data.num_workers))


def _set_train_mode(cfg: TrainConfig, state: TrainState) -> None:
    """Train mode, as upstream's loop sets it; in clean mode the frozen encoders stay in eval mode."""
    state.prepared.train()
    if not cfg.model.encoders_train_mode:
        state.built.model.vision.eval()
        state.built.model.audio.eval()
