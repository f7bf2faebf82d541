"""The AffectGPT training recipe: build, train, checkpoint, resume (spec affectgpt-model §10).

Read top to bottom: :func:`train` builds the model and data, prepares them with Hugging Face
accelerate (one process, DDP, FSDP or DeepSpeed, chosen by ``accelerate launch``), then runs
``total_steps`` optimiser steps. Each step draws ``gradient_accumulation_steps`` micro-batches of
``batch_size`` samples per process from a deterministic stream (:class:`HybridTaskSampler`), so a
checkpoint needs only the step number as its data position; with the optimizer, scheduler, scaler and
every RNG state saved too, a resumed run continues bit-for-bit.

Run folder (``run.output_dir``)::

    config.yaml                 the resolved training config
    filtered.json               samples left out up front (missing target, too long)
    skipped.jsonl               samples whose media failed while training (dropped from their batch)
    metrics.jsonl               step, loss, lr, samples/s, tokens/s, step time
    loss_curve.png              updated at every checkpoint and at the end
    tensorboard/ …              accelerate trackers (run.log_with)
    checkpoints/step_0000300/   an ovmer model folder (config.json, trainable.safetensors, adapter/,
                                tokenizer/) + training_state.pt + rng_rank*.pt + checkpoint.json
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.atomic import write_json_atomic, write_text_atomic
from ovmer.errors import ModelError
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.train.config import TrainConfig, TrainConfigError, dump_yaml

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.pt"
SHARDED_STATE_DIR = "accelerate_state"
METRICS_FILE = "metrics.jsonl"
SKIPPED_FILE = "skipped.jsonl"
LOSS_PNG = "loss_curve.png"
TINY_PREFIX = "tiny-"


@dataclass
class BuiltModel:
    model: AffectGPTModel
    processor: AffectGPTProcessor
    #: Backbones are random (tiny) or came from a local file: checkpoints then carry them along.
    local_backbones: bool


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


# ---------------------------------------------------------------------- model
def build_model(cfg: TrainConfig, device: torch.device) -> BuiltModel:
    """The model named by ``cfg.model.config`` with the training overrides applied, on ``device``.

    ``tiny-face``/``tiny-frame`` build random tiny backbones seeded with ``run.seed`` (same weights on
    every process); named or file configs take the backbones from the model folder or the hub, or
    are random at full size with ``model.random_weights`` (benchmarks).
    """
    from ovmer.models.loading import build_model as build_from_config
    from ovmer.models.tiny import tiny_config, tiny_tokenizer

    spec = cfg.model.config
    folder: Path | None = None
    if spec.startswith(TINY_PREFIX):
        visual = spec[len(TINY_PREFIX) :]
        if visual not in ("face", "frame"):
            raise TrainConfigError(f"model.config={spec!r}: use tiny-face or tiny-frame")
        tokenizer = tiny_tokenizer()
        mcfg = tiny_config(visual, tokenizer)  # type: ignore[arg-type]
        _apply_model_overrides(mcfg, cfg)
        torch.manual_seed(cfg.run.seed)
        model = AffectGPTModel(mcfg)
        processor = AffectGPTProcessor(tokenizer, mcfg)
        local = True
    elif cfg.model.random_weights:
        from ovmer.models.random_weights import random_weight_model

        mcfg = AffectGPTConfig.from_pretrained(spec)
        _apply_model_overrides(mcfg, cfg)
        torch.manual_seed(cfg.run.seed)
        model, tokenizer = random_weight_model(
            mcfg, device, _llm_dtype(cfg, device), llm_layers=cfg.model.random_llm_layers
        )
        processor = AffectGPTProcessor(tokenizer, mcfg)
        local = False  # checkpoints must not carry 16 GB of random backbones along
    else:
        path = Path(spec)
        folder = path if path.is_dir() else None
        mcfg = AffectGPTConfig.from_pretrained(spec)
        _apply_model_overrides(mcfg, cfg)
        torch.manual_seed(cfg.run.seed)
        llm_dtype = _llm_dtype(cfg, device)
        model = build_from_config(mcfg, folder, llm_dtype)
        processor = AffectGPTProcessor.from_pretrained(folder, mcfg)
        from ovmer.models.loading import BACKBONES_FILE

        local = folder is not None and (folder / BACKBONES_FILE).is_file()
    if cfg.model.init_from:
        load_trainables(model, cfg.model.init_from)
    model.to(device)
    dtype = _llm_dtype(cfg, device)
    if dtype != torch.float32:
        # Base LLM in fp16/bf16, LoRA and heads in fp32 (spec §8).
        for _, param in model.llm.named_parameters():
            if not param.requires_grad:
                param.data = param.data.to(dtype)
    if device.type == "cuda" and cfg.run.mixed_precision != "no":
        model.autocast_dtype = torch.float16 if cfg.run.mixed_precision == "fp16" else torch.bfloat16
        skip_lora_input_cast(model)
    if cfg.model.gradient_checkpointing:
        base = model.llm.get_base_model()
        # transformers 5 renamed the switch; older versions only have gradient_checkpointing_enable.
        if hasattr(base, "activation_checkpointing_enable"):
            base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.model.compile_layers:
        compile_decoder_layers(model)
    return BuiltModel(model, processor, local)


def compile_decoder_layers(model: AffectGPTModel) -> int:
    """``torch.compile`` each LLM decoder layer in place (regional compilation); returns how many.

    Why: on a GPU, a full-size step spends much of its time in small elementwise kernels around the
    matrix products (RMSNorm in fp32, rotary embeddings, SwiGLU, LoRA dropout, scale and add), which
    the compiler fuses. Compiling layer by layer compiles one layer's code and reuses it for the
    others, and keeps parameter names (checkpoints are unchanged).
    """
    layers = model.llm.get_base_model().model.layers
    for layer in layers:
        layer.compile()
    return len(layers)


def skip_lora_input_cast(model: AffectGPTModel) -> int:
    """Stop peft from casting each LoRA input to the adapters' fp32; returns the layers changed.

    Only for training under autocast (CUDA fp16/bf16): autocast runs the LoRA matrix products in its
    own dtype whatever the input's, so the cast only adds two copies of the activation per adapted
    layer (fp16 -> fp32 for peft, fp32 -> fp16 for autocast), a large share of the memory traffic of
    a full-size step. Without autocast the cast is required (fp16 base, fp32 adapters).
    """
    from peft.tuners.tuners_utils import BaseTunerLayer

    changed = 0
    for module in model.llm.modules():
        if isinstance(module, BaseTunerLayer) and getattr(module, "cast_input_dtype_enabled", False):
            module.cast_input_dtype_enabled = False  # type: ignore[attr-defined]
            changed += 1
    return changed


def _apply_model_overrides(mcfg: AffectGPTConfig, cfg: TrainConfig) -> None:
    mcfg.audio_normalization = cfg.model.audio_normalization
    if cfg.model.lora_dropout is not None:
        mcfg.lora.dropout = cfg.model.lora_dropout


def _llm_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype:
    from ovmer.models.loading import DTYPES

    return DTYPES[cfg.model.llm_dtype] if device.type == "cuda" else torch.float32


def load_trainables(model: AffectGPTModel, source: str | Path) -> None:
    """Strictly load LoRA + heads from an ovmer model/checkpoint folder or an official ``.pth``."""
    from safetensors.torch import load_file

    from ovmer.models.checkpoint import (
        load_official_state_dict,
        official_model_state,
        read_official_checkpoint,
    )
    from ovmer.models.loading import TRAINABLE_FILE

    path = Path(source)
    if path.is_dir():
        file = path / TRAINABLE_FILE
        if not file.is_file():
            raise ModelError(f"{path} has no {TRAINABLE_FILE}; give an ovmer model folder or a .pth")
        load_official_state_dict(model, load_file(str(file)), str(file))
    else:
        load_official_state_dict(
            model, official_model_state(read_official_checkpoint(path), str(path)), str(path)
        )


# ---------------------------------------------------------------------- optimiser and schedule
def parameter_groups(model: AffectGPTModel, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups of spec §10.4: decay for ndim ≥ 2 unless the name holds bias/ln/bn (upstream rule)."""
    decay, no_decay = [], []
    for name, param in model.trainable_named_parameters():
        if param.ndim < 2 or any(k in name for k in ("bias", "ln", "bn")):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of ``optim.lr`` at optimiser step ``step``.

    ``constant`` is what upstream ran in effect (its configured warm-up never executes and the cosine
    runs between two equal values, §10.4); ``warmup_cosine`` is the clean-mode schedule.
    """
    o = cfg.optim
    if o.schedule == "constant":
        return 1.0
    if step < o.warmup_steps:
        lr = o.warmup_lr + (o.lr - o.warmup_lr) * step / max(o.warmup_steps, 1)
    else:
        span = max(cfg.total_steps - o.warmup_steps, 1)
        progress = min((step - o.warmup_steps) / span, 1.0)
        lr = o.min_lr + (o.lr - o.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return lr / o.lr


# ---------------------------------------------------------------------- RNG
def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True  # spec §10.7
    torch.backends.cudnn.benchmark = False


# ---------------------------------------------------------------------- checkpoints
def find_latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (temp folders of interrupted saves are ignored)."""
    folder = run_dir / CHECKPOINTS_DIR
    if not folder.is_dir():
        return None
    done = sorted(p for p in folder.glob("step_*") if (p / STATE_FILE).is_file())
    return done[-1] if done else None


def resolve_resume(cfg: TrainConfig, run_dir: Path) -> Path | None:
    if cfg.run.resume == "never":
        return None
    if cfg.run.resume == "auto":
        return find_latest_checkpoint(run_dir)
    path = Path(cfg.run.resume)
    if not (path / STATE_FILE).is_file():
        raise TrainConfigError(f"run.resume={path} is not a training checkpoint ({STATE_FILE} missing)")
    return path


# ---------------------------------------------------------------------- data
def build_samples(cfg: TrainConfig) -> list[Any]:
    """The config's training samples, read through the dataset registry (``data.dataset``)."""
    from ovmer.train.data import read_train_samples

    return read_train_samples(cfg.data.root, cfg.data.dataset, cfg.data.split)


# ---------------------------------------------------------------------- logging
def plot_loss_curve(metrics_path: Path, png_path: Path) -> bool:
    """Loss against step from ``metrics.jsonl`` into a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (extra [plot]); no %s written", png_path.name)
        return False
    rows = [
        json.loads(line) for line in metrics_path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1.2)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (answer tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = png_path.with_name(f".{png_path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(png_path)
    return True


def _truncate_metrics(path: Path, last_step: int) -> None:
    """On resume, drop metric rows written after the checkpoint (they will be written again)."""
    if not path.is_file():
        return
    keep = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["step"] <= last_step
    ]
    write_text_atomic(path, "".join(line + "\n" for line in keep))


# ---------------------------------------------------------------------- the loop
def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) the training described by ``cfg``; returns losses and the last checkpoint.

    Gradients are switched on explicitly: a caller (or an earlier library call in the same process)
    may have disabled them globally with ``torch.set_grad_enabled(False)``.
    """
    with torch.enable_grad():
        return _train(cfg)


def _train(cfg: TrainConfig) -> TrainResult:
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    from ovmer.train.data import HybridTaskSampler, TrainDataset, build_loader, filter_by_length
    from ovmer.train.features import FeatureCache, encoder_fingerprint

    cfg.validate()
    use_cpu = cfg.run.cpu or not torch.cuda.is_available()
    # CPUs have bf16 autocast but no fp16 one (accelerate would silently run fp32): say so.
    mixed = "no" if use_cpu and cfg.run.mixed_precision == "fp16" else cfg.run.mixed_precision
    if mixed != cfg.run.mixed_precision:
        log.info("run.mixed_precision=fp16 needs a GPU; training in fp32 on the CPU (bf16 works there)")
    run_dir = Path(cfg.run.output_dir)
    _forget_previous_run_settings()
    accelerator = Accelerator(
        cpu=use_cpu,
        mixed_precision=mixed,
        log_with=cfg.run.log_with or None,
        project_dir=str(run_dir),
        # image_llama_proj never receives gradients (spec §6.4, §10.6): DDP must allow that.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", dump_yaml(cfg))

    # Same initial weights on every process, then per-process randomness (seed + rank, §10.7).
    seed_everything(cfg.run.seed)
    built = build_model(cfg, accelerator.device)
    model, processor = built.model, built.processor

    samples, dropped = filter_by_length(build_samples(cfg), processor, cfg.data.tasks, cfg.data.max_length)
    if main:
        write_json_atomic(run_dir / "filtered.json", {"kept": len(samples), "dropped": dropped})
        if dropped:
            log.warning(
                "%d sample(s) left out before training; see %s", len(dropped), run_dir / "filtered.json"
            )
    cache = None
    if cfg.data.feature_cache:
        cache = FeatureCache(cfg.data.feature_cache, encoder_fingerprint(model, built.local_backbones))
    dataset = TrainDataset(samples, processor, cache)

    accum = cfg.run.gradient_accumulation_steps
    optimizer = torch.optim.AdamW(
        parameter_groups(model, cfg.optim.weight_decay),
        lr=cfg.optim.lr,
        betas=(cfg.optim.betas[0], cfg.optim.betas[1]),
        eps=cfg.optim.eps,
        # One fused kernel instead of a loop over the 412 trainable tensors (7 % of a full-size step
        # on an H100). Left to the default for sharded (DTensor) parameters and on CPUs.
        **({"fused": True} if accelerator.device.type == "cuda" and not is_sharded(accelerator) else {}),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(cfg, s))

    resume_from = resolve_resume(cfg, run_dir)
    start_step = 0
    epoch_loss = [0.0, 0]
    if resume_from is not None:
        load_trainables(model, resume_from)
    prepared_model, optimizer = accelerator.prepare(model, optimizer)
    if resume_from is not None:
        state = torch.load(resume_from / STATE_FILE, map_location="cpu", weights_only=False)
        if state["optimizer"] is None:  # written by a sharded (FSDP / DeepSpeed) run
            accelerator.load_state(str(resume_from / SHARDED_STATE_DIR))
        else:
            optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if accelerator.scaler is not None and state.get("scaler"):
            accelerator.scaler.load_state_dict(state["scaler"])
        start_step = int(state["step"])
        epoch_loss = list(state.get("epoch_loss", [0.0, 0]))
        rng_file = resume_from / f"rng_rank{rank}.pt"
        if state.get("world_size") != world or not rng_file.is_file():
            log.warning(
                "resuming with %d process(es) from a %s-process run: not bit-for-bit",
                world,
                state.get("world_size"),
            )
        else:
            set_rng_state(torch.load(rng_file, weights_only=False))
        if main:
            _truncate_metrics(run_dir / METRICS_FILE, start_step)
            log.info("resumed from %s at step %d", resume_from, start_step)
    else:
        seed_everything(cfg.run.seed + rank)

    if main and cfg.run.log_with:
        accelerator.init_trackers(cfg.name, config=_flat_config(cfg))

    total = cfg.total_steps
    sampler = HybridTaskSampler(
        len(dataset), cfg.data.tasks, cfg.run.batch_size, world, rank, accum, cfg.run.seed
    )
    loader = build_loader(dataset, sampler, start_step, total, cfg.data.num_workers)
    batches = iter(loader)

    prepared_model.train()
    if not cfg.model.encoders_train_mode:
        model.vision.eval()
        model.audio.eval()

    result = TrainResult(run_dir, start_step, start_step, samples_per_step=cfg.run.batch_size * accum * world)
    if start_step == 0 and cfg.run.save_initial_checkpoint:
        # Epoch 0 (spec §10.8): the untrained LoRA + heads, e.g. to score the starting point.
        result.checkpoint = save_checkpoint(
            accelerator, model, processor, optimizer, scheduler, cfg, 0, built.local_backbones, epoch_loss,
            prepared_model,
        )  # fmt: skip
        if main and cfg.run.write_official_pth:
            export_official(result.checkpoint, run_dir / "official")
    progress = _progress(main and cfg.run.progress, start_step, total)
    window: list[torch.Tensor] = []
    window_samples = window_tokens = 0
    window_start = time.perf_counter()
    try:
        for step in range(start_step, total):
            t0 = time.perf_counter()
            step_loss = torch.zeros((), device=accelerator.device)
            step_tokens = 0
            for micro in range(accum):
                batch = next(batches)
                if batch["skipped"]:
                    result.skipped += len(batch["skipped"])
                    _record_skipped(run_dir, step, batch["skipped"])
                sync = micro == accum - 1
                ctx = accelerator.no_sync(prepared_model) if not sync else _null()
                with ctx, accelerator.autocast():
                    loss = _batch_loss(prepared_model, model, batch, accelerator.device)
                    accelerator.backward(loss / accum)
                step_loss += loss.detach() / accum
                window_samples += batch["size"]
                step_tokens += int(batch["attention_mask"].sum()) if batch["size"] else 0
            window_tokens += step_tokens
            if cfg.optim.max_grad_norm is not None:
                accelerator.clip_grad_norm_(prepared_model.parameters(), cfg.optim.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            done = step + 1
            mean_loss = accelerator.reduce(step_loss, reduction="mean")
            value = float(mean_loss)
            result.losses.append(value)
            result.step_times.append(time.perf_counter() - t0)
            result.tokens_per_step.append(step_tokens)
            result.final_step = done
            epoch_loss[0] += value
            epoch_loss[1] += 1
            window.append(mean_loss)
            if progress is not None:
                progress.update(0, completed=done, loss=value)
            if done % cfg.run.log_every == 0 or done == total:
                elapsed = time.perf_counter() - window_start
                row = {
                    "step": done,
                    "epoch": done / cfg.run.iters_per_epoch,
                    "loss": float(torch.stack(window).mean()),
                    "lr": scheduler.get_last_lr()[0],
                    "samples_per_s": window_samples * world / elapsed,
                    "tokens_per_s": window_tokens * world / elapsed,
                    "step_time_s": elapsed / len(window),
                }
                if main:
                    with (run_dir / METRICS_FILE).open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(row) + "\n")
                if cfg.run.log_with:
                    accelerator.log({k: v for k, v in row.items() if k != "step"}, step=done)
                window, window_samples, window_tokens = [], 0, 0
                window_start = time.perf_counter()
            epoch_end = done % cfg.run.iters_per_epoch == 0
            every = cfg.run.save_every_steps
            if epoch_end or done == total or (every and done % every == 0):
                result.checkpoint = save_checkpoint(
                    accelerator,
                    model,
                    processor,
                    optimizer,
                    scheduler,
                    cfg,
                    done,
                    built.local_backbones,
                    epoch_loss,
                    prepared_model,
                )
                if epoch_end:
                    if main and cfg.run.write_official_pth:
                        export_official(result.checkpoint, run_dir / "official")
                    epoch_loss = [0.0, 0]
    finally:
        if progress is not None:
            progress.stop()
        if main and (run_dir / METRICS_FILE).is_file():
            plot_loss_curve(run_dir / METRICS_FILE, run_dir / LOSS_PNG)
        if cfg.run.log_with:
            accelerator.end_training()
    return result


def _forget_previous_run_settings() -> None:
    """Let a second ``train`` in the same process (a notebook, a sweep) use other settings.

    accelerate keeps the first run's mixed precision and device in a process-wide singleton and
    refuses different ones later; the process group itself (``PartialState``) is kept.
    """
    from accelerate.state import AcceleratorState

    reset = getattr(AcceleratorState, "_reset_state", None)
    if reset is not None:
        reset(reset_partial_state=False)


def _null() -> Any:
    import contextlib

    return contextlib.nullcontext()


def _batch_loss(
    prepared: Any, model: AffectGPTModel, batch: dict[str, Any], device: torch.device
) -> torch.Tensor:
    """Mean cross-entropy over the batch's answer tokens (spec §10.3 step 6).

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


def _record_skipped(run_dir: Path, step: int, rows: list[dict[str, Any]]) -> None:
    with (run_dir / SKIPPED_FILE).open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({"step": step, **row}) + "\n")
    for row in rows:
        log.warning("skipped sample %s at step %d: %s", row["name"], step, row["error"])


def _flat_config(cfg: TrainConfig) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in cfg.to_dict().items():
        if isinstance(values, dict):
            for k, v in values.items():
                flat[f"{section}.{k}"] = v if isinstance(v, (int, float, str, bool)) else str(v)
        else:
            flat[section] = values
    return flat


def _progress(enabled: bool, start: int, total: int) -> Any:
    if not enabled:
        return None
    from rich.progress import TextColumn

    from ovmer.progress import progress_bar

    bar = progress_bar("train", TextColumn("loss {task.fields[loss]:.4f}"))
    bar.add_task("train", total=total, completed=start, loss=float("nan"))
    bar.start()
    return bar


def save_checkpoint(
    accelerator: Any,
    model: AffectGPTModel,
    processor: AffectGPTProcessor,
    optimizer: Any,
    scheduler: Any,
    cfg: TrainConfig,
    step: int,
    local_backbones: bool,
    epoch_loss: list[Any],
    prepared: Any = None,
) -> Path:
    """Write ``checkpoints/step_%07d`` atomically (temp folder + rename) and return its path.

    The folder is a loadable ovmer model folder (only trainable weights, safetensors) plus the
    optimizer, scheduler, scaler, data position (step) and each process's RNG state.
    """
    from ovmer.models.loading import save_pretrained

    folder = Path(cfg.run.output_dir) / CHECKPOINTS_DIR
    final = folder / f"step_{step:07d}"
    tmp = folder / f".step_{step:07d}.tmp"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    torch.save(rng_state(), tmp / f"rng_rank{accelerator.process_index}.pt")
    sharded = is_sharded(accelerator)
    full = None
    if sharded:
        # FSDP / DeepSpeed shard parameters or optimizer state: gather the weights, and let accelerate
        # write the optimizer shards of every process.
        full = accelerator.get_state_dict(prepared) if prepared is not None else None
        accelerator.save_state(str(tmp / SHARDED_STATE_DIR))
    if main:
        save_pretrained(model, tmp, processor, include_backbones=local_backbones, full_state=full)
        state = {
            "optimizer": None if sharded else optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
            "step": step,
            "epoch": step // cfg.run.iters_per_epoch,
            "epoch_loss": epoch_loss,
            "world_size": accelerator.num_processes,
            "train_config": cfg.to_dict(),
        }
        torch.save(state, tmp / STATE_FILE)
        mean = epoch_loss[0] / epoch_loss[1] if epoch_loss[1] else 0.0
        write_json_atomic(
            tmp / "checkpoint.json",
            {"step": step, "epoch": step / cfg.run.iters_per_epoch, "epoch_mean_loss": mean},
        )
    accelerator.wait_for_everyone()
    if main:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _prune(folder, cfg.run.keep_last)
    accelerator.wait_for_everyone()
    return final


def is_sharded(accelerator: Any) -> bool:
    """True under FSDP or DeepSpeed, where parameters or optimizer state live in shards."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def _prune(folder: Path, keep_last: int | None) -> None:
    if not keep_last:
        return
    done = sorted(p for p in folder.glob("step_*") if (p / STATE_FILE).is_file())
    for old in done[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)


def export_official(checkpoint: str | Path, out: str | Path) -> Path:
    """Write a checkpoint in upstream's layout (spec §11.2): ``checkpoint_%06d_loss_%.3f.pth``.

    The dict holds ``model`` (official keys, fp32), ``optimizer``, ``config``, ``scaler`` and
    ``epoch``; it loads with ``torch.load(weights_only=True)`` and with ovmer's strict loader. ``out``
    is a folder (the file name is built from the epoch and loss) or a ``.pth`` path.
    """
    from safetensors.torch import load_file

    from ovmer.models.loading import TRAINABLE_FILE

    checkpoint = Path(checkpoint)
    if not (checkpoint / TRAINABLE_FILE).is_file():
        raise ModelError(f"{checkpoint} is not a training checkpoint folder ({TRAINABLE_FILE} missing)")
    weights = load_file(str(checkpoint / TRAINABLE_FILE))
    state: dict[str, Any] = {}
    if (checkpoint / STATE_FILE).is_file():
        state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
    meta = (
        json.loads((checkpoint / "checkpoint.json").read_text())
        if (checkpoint / "checkpoint.json").is_file()
        else {}
    )
    epoch = int(state.get("epoch", 0))
    out = Path(out)
    if out.suffix != ".pth":
        out.mkdir(parents=True, exist_ok=True)
        out = out / f"checkpoint_{epoch:06d}_loss_{meta.get('epoch_mean_loss', 0.0):.3f}.pth"
    payload = {
        "model": weights,
        "optimizer": state.get("optimizer", {}),
        "config": state.get("train_config", {}),
        "scaler": state.get("scaler") or {},
        "epoch": epoch,
    }
    tmp = out.with_name(f".{out.name}.tmp")
    torch.save(payload, tmp)
    tmp.replace(out)
    return out
