"""The model a training run trains: built from ``model.weights``, then set up for the training step.

Where the weights come from is the config field ``model.weights`` (docs/training.md, "Named
configs"): the paper's backbones from the hub, an offline model folder, or random weights (tiny for
tests, full size for GPU benchmarks). Loading itself is :mod:`ovmer.models.loading`'s; this module adds
only what training needs: the config overrides, a fixed seed for random weights, the dtypes of
mixed precision, and the optional gradient checkpointing and compiled layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ovmer.errors import TrainConfigError
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.train.config import TrainConfig


@dataclass
class BuiltModel:
    """What :func:`build_model` returns: the model, its processor, and whether its backbones are local."""

    model: AffectGPTModel
    processor: AffectGPTProcessor
    #: Backbones are random (tiny) or came from a local file: checkpoints then carry them along.
    local_backbones: bool


def build_model(cfg: TrainConfig, device: torch.device) -> BuiltModel:
    """The model of ``cfg.model`` with the training overrides applied, ready to train on ``device``.

    Random weights are seeded with ``run.seed``, so every process builds the same model. With
    ``model.init_from`` the LoRA + head weights then come from that model folder or ``.pth``.
    """
    from ovmer.models.loading import load_trainables

    weights = cfg.model.weights
    if weights == "random_tiny":
        built = _random_tiny_model(cfg)
    elif weights == "random_full":
        built = _random_full_model(cfg, device)
    else:
        built = _pretrained_model(cfg, device)
    if cfg.model.init_from:
        load_trainables(built.model, cfg.model.init_from)
    _set_up_for_training(built.model, cfg, device)
    return built


def _random_tiny_model(cfg: TrainConfig) -> BuiltModel:
    """A random tiny model (:mod:`ovmer.models.tiny`) of the config's variant (face or frame)."""
    from ovmer.models.tiny import tiny_config, tiny_tokenizer

    visual_input = AffectGPTConfig.from_pretrained(cfg.model.config).visual_input
    tokenizer = tiny_tokenizer()
    mcfg = tiny_config(visual_input, tokenizer)
    _apply_model_overrides(mcfg, cfg)
    torch.manual_seed(cfg.run.seed)
    return BuiltModel(AffectGPTModel(mcfg), AffectGPTProcessor(tokenizer, mcfg), local_backbones=True)


def _random_full_model(cfg: TrainConfig, device: torch.device) -> BuiltModel:
    """The config's full architecture with random weights, built on ``device`` (GPU benchmarks)."""
    from ovmer.models.random_weights import random_weight_model

    mcfg = AffectGPTConfig.from_pretrained(cfg.model.config)
    _apply_model_overrides(mcfg, cfg)
    torch.manual_seed(cfg.run.seed)
    model, tokenizer = random_weight_model(
        mcfg, device, llm_dtype(cfg, device), llm_layers=cfg.model.random_llm_layers
    )
    # Checkpoints must not carry 16 GB of random backbones along.
    return BuiltModel(model, AffectGPTProcessor(tokenizer, mcfg), local_backbones=False)


def _pretrained_model(cfg: TrainConfig, device: torch.device) -> BuiltModel:
    """Backbones from the hub (``hub``) or from the model folder's ``backbones.safetensors`` (``folder``).

    Either way, a model folder given as ``model.config`` also provides its tokenizer.
    """
    from ovmer.models.loading import BACKBONES_FILE
    from ovmer.models.loading import build_model as build_from_config

    path = Path(cfg.model.config)
    folder = path if path.is_dir() else None
    from_folder = cfg.model.weights == "folder"
    if from_folder and (folder is None or not (folder / BACKBONES_FILE).is_file()):
        raise TrainConfigError(
            f"model.weights=folder: {path} is not a model folder with {BACKBONES_FILE}; give such a folder "
            "as model.config, or use model.weights=hub to take the backbones from Hugging Face"
        )
    mcfg = AffectGPTConfig.from_pretrained(cfg.model.config)
    _apply_model_overrides(mcfg, cfg)
    torch.manual_seed(cfg.run.seed)
    model = build_from_config(mcfg, folder if from_folder else None, llm_dtype(cfg, device))
    processor = AffectGPTProcessor.from_pretrained(folder, mcfg)
    return BuiltModel(model, processor, local_backbones=from_folder)


def _apply_model_overrides(mcfg: AffectGPTConfig, cfg: TrainConfig) -> None:
    mcfg.audio_normalization = cfg.model.audio_normalization
    if cfg.model.lora_dropout is not None:
        mcfg.lora.dropout = cfg.model.lora_dropout


def llm_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype:
    """The frozen base LLM's dtype: ``model.llm_dtype`` on a GPU, fp32 on a CPU."""
    from ovmer.models.loading import DTYPES

    return DTYPES[cfg.model.llm_dtype] if device.type == "cuda" else torch.float32


def _set_up_for_training(model: AffectGPTModel, cfg: TrainConfig, device: torch.device) -> None:
    """Move to ``device``, set the dtypes of mixed precision, and switch on the optional speed-ups."""
    model.to(device)
    dtype = llm_dtype(cfg, device)
    if dtype != torch.float32:
        # Base LLM in fp16/bf16, LoRA and heads in fp32 (as upstream; docs/model.md).
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
