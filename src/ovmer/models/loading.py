"""Save and load AffectGPT models: ovmer folders, official ``.pth`` files and Hugging Face ids.

An ovmer model folder holds:

    config.json                 AffectGPTConfig (backbone ids + pinned revisions, architecture)
    trainable.safetensors       the 412 LoRA + head tensors under their official keys (fp32)
    adapter/                    the same LoRA as a standard peft adapter (interoperability)
    tokenizer/                  the tokenizer with its five placeholder tokens (optional)
    backbones.safetensors       frozen LLM/CLIP/HuBERT weights (optional; tiny/random models only —
                                released models take them from the Hugging Face ids in config.json)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ovmer.errors import CheckpointKeyError, ModelError
from ovmer.hub import dtype_kwarg, hub_from_pretrained, hub_offline_mode, hub_snapshot
from ovmer.models.checkpoint import (
    check_official_keys,
    expected_official_shapes,
    load_official_state_dict,
    official_model_state,
    official_state_dict,
    read_official_checkpoint,
    to_official_key,
)
from ovmer.models.configuration_affectgpt import CONFIG_NAME, AffectGPTConfig
from ovmer.models.fidelity import CLEAN, Fidelity, get_fidelity, keep_adapters_fp32
from ovmer.models.modeling_affectgpt import AffectGPTModel, lora_target_modules
from ovmer.models.processing_affectgpt import TOKENIZER_DIR, AffectGPTProcessor

TRAINABLE_FILE = "trainable.safetensors"
BACKBONES_FILE = "backbones.safetensors"
ADAPTER_DIR = "adapter"

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class LoadedModel:
    """A model ready for inference, its processor, and where it came from."""

    model: AffectGPTModel
    processor: AffectGPTProcessor
    source: str
    #: The fidelity setting it was loaded with (ovmer.models.fidelity); the engine takes its decoding
    #: defaults from it.
    fidelity: Fidelity = CLEAN


# ---------------------------------------------------------------------- saving
def write_adapter(state: dict[str, torch.Tensor], config: AffectGPTConfig, folder: Path) -> None:
    """Export the LoRA as a standard peft adapter: keys without ``llama_model.`` and ``.default``."""
    from safetensors.torch import save_file

    from ovmer.atomic import write_json_atomic

    adapter = {
        k[len("llama_model.") :].replace(".default.", "."): v
        for k, v in state.items()
        if k.startswith("llama_model.")
    }
    folder.mkdir(parents=True, exist_ok=True)
    save_file(adapter, str(folder / "adapter_model.safetensors"))
    write_json_atomic(
        folder / "adapter_config.json",
        {
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": config.llm_id,
            "revision": config.llm_revision,
            "r": config.lora.r,
            "lora_alpha": config.lora.alpha,
            "lora_dropout": config.lora.dropout,
            "bias": "none",
            "inference_mode": True,
            "target_modules": lora_target_modules(config),
        },
    )


def write_trainable(state: dict[str, torch.Tensor], folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{TRAINABLE_FILE}.tmp"
    save_file(state, str(tmp), metadata={"format": "affectgpt-official-keys"})
    tmp.replace(folder / TRAINABLE_FILE)


def save_pretrained(
    model: AffectGPTModel,
    folder: str | Path,
    processor: AffectGPTProcessor | None = None,
    include_backbones: bool = False,
    full_state: Mapping[str, torch.Tensor] | None = None,
) -> Path:
    """Write an ovmer model folder (see module docstring). LoRA must not be merged yet.

    ``full_state``: the whole model's tensors under its own parameter names, for a model whose
    parameters are sharded in place (FSDP2 turns them into DTensors): what accelerate gathers on the
    main process. Without it the model's own parameters are written.
    """
    from safetensors.torch import save_file

    if model.lora_merged:
        raise ModelError("cannot save a model whose LoRA is merged; save before merge_lora()")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)
    trainable_names = [name for name, _ in model.trainable_named_parameters()]
    if full_state is None:
        state = official_state_dict(model)
    else:
        missing = [name for name in trainable_names if name not in full_state]
        if missing:
            raise ModelError(
                f"the gathered state lacks {len(missing)} trainable tensor(s), e.g. {missing[:3]}"
            )
        state = {
            to_official_key(name): full_state[name].detach().to("cpu", torch.float32).contiguous()
            for name in trainable_names
        }
    write_trainable(state, folder)
    write_adapter(state, model.config, folder / ADAPTER_DIR)
    if processor is not None:
        processor.save_pretrained(folder)
    if include_backbones:
        source = full_state if full_state is not None else model.state_dict()
        trainable = set(trainable_names)
        frozen = {
            name: tensor.detach().cpu().contiguous()
            for name, tensor in source.items()
            if name not in trainable
        }
        tmp = folder / f".{BACKBONES_FILE}.tmp"
        save_file(frozen, str(tmp))
        tmp.replace(folder / BACKBONES_FILE)
    return folder


# ---------------------------------------------------------------------- loading
def load_backbones_from_hub(config: AffectGPTConfig, llm_dtype: torch.dtype) -> dict[str, Any]:
    """The three public backbones at their pinned revisions. Needs network or a warm cache.

    See docs/model.md, 'Backbones and encoders'.
    """
    from transformers import CLIPVisionModelWithProjection, HubertModel, Qwen2ForCausalLM

    return {
        "llm_base": _backbone_from_hub(
            Qwen2ForCausalLM, config.llm_id, config.llm_revision, **dtype_kwarg(llm_dtype)
        ),
        "vision": _backbone_from_hub(CLIPVisionModelWithProjection, config.vision_id, config.vision_revision),
        "audio": _backbone_from_hub(HubertModel, config.audio_id, config.audio_revision),
    }


def _backbone_from_hub(cls: Any, repo_id: str, revision: str | None, **kwargs: Any) -> Any:
    """``cls.from_pretrained`` at the pinned revision; a failure names the backbone and its revision."""
    offline = hub_offline_mode()
    revision = revision or "main"
    try:
        return hub_from_pretrained(cls, repo_id, revision, **kwargs)
    except OSError as exc:
        hint = (
            "Offline (OVMER_OFFLINE/HF_HUB_OFFLINE): download it once with network access (it is then cached)"
            if offline
            else "Check the id and revision in the model config, and the network"
        )
        raise ModelError(
            f"cannot load the backbone {repo_id} at revision {revision} from Hugging Face: "
            f"{str(exc).strip().rstrip('.')}. {hint}."
        ) from exc


def _load_backbones_file(model: AffectGPTModel, path: Path) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path))
    trainable = {name for name, _ in model.trainable_named_parameters()}
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if k not in trainable}
    try:
        check_official_keys(state, expected, str(path))
    except CheckpointKeyError as exc:
        raise CheckpointKeyError(str(exc).replace("trainable tensors", "frozen tensors")) from None
    model.load_state_dict(state, strict=False)  # frozen part only; completeness checked just above


def build_model(config: AffectGPTConfig, folder: Path | None, dtype: torch.dtype) -> AffectGPTModel:
    """Backbones from ``folder/backbones.safetensors`` if present, else from the hub."""
    if folder is not None and (folder / BACKBONES_FILE).is_file():
        model = AffectGPTModel(config)
        _load_backbones_file(model, folder / BACKBONES_FILE)
        return model
    return AffectGPTModel(config, **load_backbones_from_hub(config, dtype))


def _finish(
    model: AffectGPTModel,
    device: str | torch.device,
    dtype: torch.dtype,
    merge: bool,
    adapters_fp32: bool = False,
) -> AffectGPTModel:
    """Merge LoRA, cast the LLM, move, and switch everything to eval mode (eval at inference, as upstream).

    ``adapters_fp32`` (unmerged LoRA only): the adapters stay fp32 over the cast base, as upstream's
    peft keeps them (the paper fidelity setting).
    """
    device = torch.device(device)
    if device.type == "cpu" and dtype != torch.float32:
        raise ModelError("on CPU ovmer runs in fp32; use --dtype fp32 (fp16/bf16 need a CUDA device)")
    if merge:
        model.merge_lora()
    model.llm.to(dtype)
    if adapters_fp32 and not model.lora_merged:
        keep_adapters_fp32(model.llm)
    model.to(device)
    # Encoders stay fp32 and run under autocast on CUDA (fp16 in fidelity mode; docs/model.md,
    # 'Backbones and encoders').
    model.autocast_dtype = dtype if device.type == "cuda" and dtype != torch.float32 else None
    return model.eval()


def load_model(
    name_or_path: str | Path,
    *,
    config: str | Path | AffectGPTConfig | None = None,
    device: str | torch.device = "cpu",
    dtype: str = "fp32",
    merge_lora: bool | None = None,
    fidelity: str | Fidelity | None = None,
) -> LoadedModel:
    """Load an AffectGPT model for inference.

    ``name_or_path``: an ovmer model folder (``ovmer checkpoint convert`` output or ``save_pretrained``),
    an official ``.pth`` (then ``config`` names the variant, e.g. ``affectgpt-frame``), or a Hugging Face
    repo id holding an ovmer model folder, optionally pinned: ``ORG/NAME@REVISION``.

    ``fidelity``: ``"clean"`` (default), ``"paper"`` or a :class:`~ovmer.models.fidelity.Fidelity`;
    here it decides whether LoRA is merged or kept apart in fp32, which tokenizer is used and what
    happens to over-long prompts. ``merge_lora`` overrides the fidelity's choice (``False`` to keep
    the LoRA apart, e.g. to save the model again).
    """
    torch_dtype = DTYPES.get(dtype)
    if torch_dtype is None:
        raise ModelError(f"unknown dtype {dtype!r}; use one of {sorted(DTYPES)}")
    setting = get_fidelity(fidelity)
    merge = setting.lora == "merged" if merge_lora is None else merge_lora
    adapters_fp32 = setting.lora == "fp32_unmerged"
    if merge and adapters_fp32:
        setting = setting.replace(lora="merged")  # the record says what was done
    processor_options: dict[str, Any] = {
        "tokenizer_kind": setting.tokenizer,
        "prompt_overflow": setting.prompt_overflow,
    }
    path = Path(name_or_path)
    if path.is_file() and path.suffix in (".pth", ".pt"):
        if config is None:
            raise ModelError(
                f"{path} is an official checkpoint; say which variant it is with "
                "--config affectgpt-face|affectgpt-frame (or a model folder to take its config and backbones)"
            )
        cfg, base_folder = _config_and_folder(config)
        state = official_model_state(read_official_checkpoint(path), str(path))  # fail fast, before backbones
        model = build_model(cfg, base_folder, torch_dtype)
        load_official_state_dict(model, state, str(path))
        processor = AffectGPTProcessor.from_pretrained(base_folder, cfg, **processor_options)
        finished = _finish(model, device, torch_dtype, merge, adapters_fp32)
        return LoadedModel(finished, processor, str(path), setting)
    if not path.is_dir():
        path = _download_model_folder(str(name_or_path))
    if not (path / CONFIG_NAME).is_file():
        raise ModelError(f"{path} is not an ovmer model folder: {CONFIG_NAME} is missing")
    cfg = AffectGPTConfig.from_pretrained(path)
    model = build_model(cfg, path, torch_dtype)
    load_trainables(model, path)
    processor = AffectGPTProcessor.from_pretrained(path, cfg, **processor_options)
    finished = _finish(model, device, torch_dtype, merge, adapters_fp32)
    return LoadedModel(finished, processor, str(path), setting)


def _config_and_folder(config: str | Path | AffectGPTConfig) -> tuple[AffectGPTConfig, Path | None]:
    """A config object, plus the folder it came from when that folder may hold backbones/tokenizer."""
    if isinstance(config, AffectGPTConfig):
        return config, None
    folder = Path(config) if Path(config).is_dir() else None
    return AffectGPTConfig.from_pretrained(config), folder


def _read_trainable(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    file = folder / TRAINABLE_FILE
    if not file.is_file():
        raise ModelError(
            f"{folder} has no {TRAINABLE_FILE}; convert an official checkpoint with `ovmer checkpoint convert`"
        )
    return load_file(str(file))


def load_trainables(model: AffectGPTModel, source: str | Path) -> None:
    """Strictly load the LoRA + head weights into ``model`` from an ovmer model folder (its
    ``trainable.safetensors``) or an official ``.pth``: fine-tuning from a model, resuming a run."""
    path = Path(source)
    if path.is_dir():
        load_official_state_dict(model, _read_trainable(path), str(path / TRAINABLE_FILE))
    else:
        state = official_model_state(read_official_checkpoint(path), str(path))
        load_official_state_dict(model, state, str(path))


def _download_model_folder(spec: str) -> Path:
    """``ORG/NAME`` or ``ORG/NAME@REVISION`` (branch, tag or commit; pin a commit for reproducible runs)."""
    repo_id, _, revision = spec.partition("@")
    if "/" not in repo_id or repo_id.count("/") > 1 or (spec.count("@") and not revision):
        raise ModelError(
            f"{spec} is neither a local model folder, a .pth file nor a Hugging Face repo id (ORG/NAME[@REVISION])"
        )
    try:
        return hub_snapshot(repo_id, revision or None)
    except Exception as exc:
        at = f" at revision {revision}" if revision else ""
        raise ModelError(f"cannot fetch the model {repo_id}{at} from Hugging Face: {exc}") from exc


# ---------------------------------------------------------------------- conversion
def meta_model(config: AffectGPTConfig) -> AffectGPTModel:
    """The full model on the meta device: shapes and counts with no memory and no download."""
    with torch.device("meta"):
        return AffectGPTModel(config)


def convert_checkpoint(
    pth: str | Path, config: str | Path | AffectGPTConfig, out: str | Path
) -> dict[str, Any]:
    """Official ``.pth`` -> ovmer folder (config, trainable.safetensors, peft adapter), strictly checked.

    When ``config`` is a model folder, its tokenizer and backbones (if any) are copied along, so the
    result is self-contained (how tests and offline users make packages that load with no download).
    """
    cfg, base_folder = _config_and_folder(config)
    state = official_model_state(read_official_checkpoint(pth), str(pth))
    check_official_keys(state, expected_official_shapes(meta_model(cfg)), str(pth))
    state = {k: v.to(torch.float32).contiguous() for k, v in state.items()}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg.save_pretrained(out)
    write_trainable(state, out)
    write_adapter(state, cfg, out / ADAPTER_DIR)
    if base_folder is not None:
        for name in (BACKBONES_FILE, TOKENIZER_DIR):
            source = base_folder / name
            if source.is_file():
                shutil.copyfile(source, out / name)
            elif source.is_dir():
                shutil.copytree(source, out / name, dirs_exist_ok=True)
    summary = {"source": str(pth), "out": str(out), "config": cfg.name, "tensors": len(state)}
    (out / "conversion.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
