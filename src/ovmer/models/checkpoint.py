"""Official AffectGPT ``.pth`` checkpoints: explicit key map, strict loading, inspect and convert.

An official file is a ``torch.save`` dict whose ``model`` entry holds the 412 trainable tensors
(docs/model.md, 'Checkpoint files'; upstream ``runners/runner_base.py``): 392 LoRA tensors named
``llama_model.<peft name>`` and 20 head tensors named like the head attributes. Upstream loaded them
with ``strict=False``, so a renamed key silently produced an untrained model; here every key must be
consumed and every trainable parameter provided, with matching shapes, or loading fails naming the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from ovmer.errors import CheckpointKeyError, ModelError
from ovmer.hub import hub_download

LLM_PREFIX = "llama_model."
HEADS_PREFIX = "heads."
#: Alternate release host of the face model (docs/model.md, 'Checkpoint files').
RELEASE_REPO = "MERChallenge/AffectGPT"


def to_official_key(name: str) -> str:
    """Model parameter name -> official checkpoint key (``llm.X`` -> ``llama_model.X``, ``heads.X`` -> ``X``)."""
    if name.startswith("llm."):
        return LLM_PREFIX + name[len("llm.") :]
    if name.startswith(HEADS_PREFIX):
        return name[len(HEADS_PREFIX) :]
    raise CheckpointKeyError(f"parameter {name!r} is not part of an official checkpoint")


def from_official_key(key: str) -> str:
    """Official checkpoint key -> model parameter name (inverse of :func:`to_official_key`)."""
    if key.startswith(LLM_PREFIX):
        return "llm." + key[len(LLM_PREFIX) :]
    return HEADS_PREFIX + key


def expected_official_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Official key -> shape for every trainable parameter of ``model`` (works on the meta device)."""
    return {
        to_official_key(name): tuple(param.shape)
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def official_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's trainable tensors under official keys, fp32, on CPU (what upstream would save)."""
    return {
        to_official_key(name): param.detach().to("cpu", torch.float32).contiguous()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def _listing(keys: Iterable[str], limit: int = 8) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f" … (+{len(keys) - limit} more)" if len(keys) > limit else "")


def check_official_keys(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]], source: str
) -> None:
    """Raise :class:`CheckpointKeyError` unless ``state`` has exactly the expected keys and shapes."""
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_listing(unexpected)}")
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_listing(missing)}")
    wrong = [
        f"{key} {tuple(state[key].shape)} != {expected[key]}"
        for key in sorted(set(state) & set(expected))
        if tuple(state[key].shape) != expected[key]
    ]
    if wrong:
        problems.append(f"{len(wrong)} shape mismatch(es): {_listing(wrong)}")
    if problems:
        raise CheckpointKeyError(
            f"{source} does not match the AffectGPT model ({len(expected)} trainable tensors expected): "
            + "; ".join(problems)
            + ". Check that the config (face/frame, sizes) matches the checkpoint; ovmer never loads partially."
        )


def load_official_state_dict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Copy an official state dict into ``model`` strictly (all keys consumed, all trainables set)."""
    if getattr(model, "lora_merged", False):
        raise ModelError("load the checkpoint before merging LoRA into the base weights")
    params = dict(model.named_parameters())
    check_official_keys(state, expected_official_shapes(model), source)
    with torch.no_grad():
        for key, tensor in state.items():
            param = params[from_official_key(key)]
            param.copy_(tensor.to(device=param.device, dtype=param.dtype))


def read_official_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load an official ``.pth`` with ``weights_only=True`` (no arbitrary pickle code)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    what = "official AffectGPT files are torch.save dicts with a 'model' entry"
    with open(path, "rb") as handle:
        head = handle.read(2)
    if not head:
        raise ModelError(f"{path}: the file is empty, not a checkpoint ({what}; download or copy it again)")
    # torch.save writes a zip archive ("PK") or, before torch 1.6, a pickle (protocol byte 0x80).
    if head != b"PK" and head[:1] != b"\x80":
        raise ModelError(
            f"{path}: not a torch checkpoint, it starts with {head!r} (a text or other file?) ({what})"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise ModelError(
            f"{path}: cannot read it as a weights-only torch checkpoint ({detail}) ({what}; other "
            "pickles are refused for safety, a truncated file must be downloaded again)"
        ) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} holds a {type(data).__name__}, not a checkpoint dict")
    return data


def official_model_state(data: Mapping[str, Any], source: str) -> dict[str, torch.Tensor]:
    """The tensor dict inside an official checkpoint (its ``model`` entry)."""
    state = data.get("model")
    if not isinstance(state, Mapping):
        raise ModelError(f"{source} has no 'model' entry with tensors (keys: {sorted(data)})")
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if len(tensors) != len(state):
        raise ModelError(f"{source}: the 'model' entry holds non-tensor values")
    return tensors


def official_checkpoint_name(epoch: int, epoch_mean_loss: float) -> str:
    """Upstream's file name for the checkpoint of an epoch: ``checkpoint_%06d_loss_%.3f.pth``.

    The loss is the epoch's mean training loss (``0.000`` for the untrained epoch-0 file), as in the
    released ``checkpoint_000060_loss_0.480.pth`` (docs/training.md, "Run folder, checkpoints, resume").
    """
    return f"checkpoint_{epoch:06d}_loss_{epoch_mean_loss:.3f}.pth"


def write_official_checkpoint(
    out: str | Path,
    model_state: Mapping[str, torch.Tensor],
    *,
    epoch: int,
    epoch_mean_loss: float = 0.0,
    optimizer: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    scaler: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint in upstream's layout and return its path.

    The ``torch.save`` dict holds ``model`` (the trainable tensors under official keys), ``optimizer``,
    ``config`` (the training config as a plain dict), ``scaler`` and ``epoch``, so it loads with
    ``torch.load(weights_only=True)``, with :func:`read_official_checkpoint` and with upstream's code.
    ``out`` is a folder (the file is named by :func:`official_checkpoint_name`) or a ``.pth`` path;
    the file is written atomically.
    """
    from ovmer.atomic import atomic_open

    path = Path(out)
    if path.suffix != ".pth":
        path = path / official_checkpoint_name(epoch, epoch_mean_loss)
    payload = {
        "model": dict(model_state),
        "optimizer": dict(optimizer or {}),
        "config": dict(config or {}),
        "scaler": dict(scaler or {}),
        "epoch": epoch,
    }
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def resolve_checkpoint(path_or_repo: str, filename: str | None = None, revision: str | None = None) -> Path:
    """A local file, or ``filename`` in a Hugging Face repo (e.g. ``MERChallenge/AffectGPT``)."""
    local = Path(path_or_repo)
    if local.is_file():
        return local
    if filename is None:
        raise ModelError(
            f"{path_or_repo} is not a file; to fetch from Hugging Face give the repo id and --filename "
            f"(for example {RELEASE_REPO} and the .pth path inside it)"
        )
    try:
        return hub_download(path_or_repo, filename, revision)
    except Exception as exc:
        raise ModelError(f"cannot download {filename} from {path_or_repo}: {exc}") from exc


def inspect_checkpoint(path: str | Path) -> dict[str, Any]:
    """What an official checkpoint holds: entries, epoch, tensor counts, LoRA rank and layers, sizes."""
    data = read_official_checkpoint(path)
    state = official_model_state(data, str(path))
    lora = {k: v for k, v in state.items() if k.startswith(LLM_PREFIX)}
    heads = {k: v for k, v in state.items() if not k.startswith(LLM_PREFIX)}
    layers = {k.split(".layers.")[1].split(".")[0] for k in lora if ".layers." in k}
    ranks = {int(v.shape[0]) for k, v in lora.items() if ".lora_A." in k}
    return {
        "file": str(path),
        "entries": sorted(data),
        "epoch": data.get("epoch"),
        "tensors": len(state),
        "lora_tensors": len(lora),
        "head_tensors": len(heads),
        "lora_parameters": sum(v.numel() for v in lora.values()),
        "head_parameters": sum(v.numel() for v in heads.values()),
        "lora_layers": len(layers),
        "lora_rank": sorted(ranks),
        "dtypes": sorted({str(v.dtype) for v in state.values()}),
        "heads": {k: list(v.shape) for k, v in sorted(heads.items())},
    }
