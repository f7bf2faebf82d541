"""Training configuration as dataclasses, YAML files and ``key=value`` overrides.

Why dataclasses: every setting has a type and a default that reproduces the paper's recipe
(docs/training.md), a named YAML file only lists what differs, and ``section.key=value`` overrides on
the command line are parsed with YAML and checked against the field's type, so a typo or a wrong type
fails before any model is built.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ovmer.errors import TrainConfigError

#: Where the model's weights come from (``model.weights``); see :class:`ModelSection`.
WeightsSource = Literal["hub", "folder", "random_tiny", "random_full"]
#: Model names of older configs that chose the tiny model by name, and what replaces them.
_RETIRED_TINY_NAMES = {"tiny-face": "affectgpt-face", "tiny-frame": "affectgpt-frame"}


@dataclass
class ModelSection:
    """Which AffectGPT to train and how its frozen parts behave."""

    #: Named AffectGPT config (``affectgpt-face``, ``affectgpt-frame``), a JSON file or an ovmer model
    #: folder: the architecture, and with ``random_tiny`` only its variant (face or frame).
    config: str = "affectgpt-face"
    #: Where the weights come from. ``hub``: the frozen backbones from Hugging Face at the config's
    #: pinned revisions (the paper's runs). ``folder``: ``config`` is an ovmer model folder whose
    #: ``backbones.safetensors`` holds them (made offline, e.g. by ``save_pretrained``). ``random_tiny``:
    #: a random tiny model (hidden 48, 2 layers; :mod:`ovmer.models.tiny`) of the config's variant,
    #: seeded with ``run.seed``, for tests and dry runs. ``random_full``: the config's full architecture
    #: with random weights and nothing downloaded (:mod:`ovmer.models.random_weights`), for GPU
    #: benchmarks only.
    weights: WeightsSource = "hub"
    #: Start from the trainable weights of an ovmer model folder or an official ``.pth`` (fine-tuning).
    init_from: str | None = None
    #: Fidelity (docs/training.md): upstream's training loop puts HuBERT in train mode (dropout,
    #: SpecAugment). False = clean mode, required by the feature cache.
    encoders_train_mode: bool = True
    #: HuBERT waveform normalisation: upstream training normalises jointly over the batch.
    audio_normalization: Literal["joint_batch", "per_sample", "per_clip"] = "joint_batch"
    #: Override of LoRA dropout (0.05 in the paper); None keeps the model config's value.
    lora_dropout: float | None = None
    #: Base LLM weight dtype on GPU (upstream: fp16; LoRA and heads always fp32). CPU always uses fp32.
    llm_dtype: Literal["fp32", "fp16", "bf16"] = "fp16"
    #: Recompute LLM activations in the backward pass (not upstream; saves memory at full size).
    gradient_checkpointing: bool = False
    #: ``torch.compile`` each LLM decoder layer (fuses the elementwise work around the matrix
    #: products; not upstream). Costs a compilation at start-up and after new sequence lengths.
    compile_layers: bool = False
    #: With ``weights: random_full``: keep only the first N LLM layers (a full-width smoke test on a CPU).
    random_llm_layers: int | None = None


@dataclass
class DataSection:
    """Where the training samples come from (docs/training.md, "Data") and how they are loaded."""

    #: A dataset of the registry (``ovmer data list``: ``mercaptionplus``, ``ovmerd``, or any labelled
    #: benchmark) read from its official layout under ``root``, or ``csv:PATH`` for a manifest with
    #: ``name`` and any of ``video, face, audio, subtitle, labels, description``.
    dataset: str = "mercaptionplus"
    #: The folder that holds the dataset (for MER-Caption+ / OV-MERD: the MER2025 release folder).
    root: str | None = None
    #: Registry split; open-vocabulary sets (MER-Caption+, OV-MERD) are read whole as ``test``.
    split: str = "test"
    #: Hybrid output task (upstream "outputhybird"): one task drawn uniformly per draw.
    tasks: list[str] = field(default_factory=lambda: ["description", "ovlabels"])
    #: Prompt + target token limit (upstream: 1024); longer samples are filtered up front and reported.
    max_length: int = 1024
    num_workers: int = 4
    #: Folder written by ``ovmer features extract``; training then never runs the encoders.
    feature_cache: str | None = None


@dataclass
class OptimSection:
    """AdamW and the learning rate (docs/training.md, "Named configs")."""

    lr: float = 1e-5
    weight_decay: float = 0.05
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    #: ``constant`` is what upstream effectively ran (its warm-up never executes, docs/training.md);
    #: ``warmup_cosine`` is a clean-mode option (linear warm-up from ``warmup_lr``, cosine to ``min_lr``).
    schedule: Literal["constant", "warmup_cosine"] = "constant"
    warmup_steps: int = 0
    warmup_lr: float = 1e-6
    min_lr: float = 1e-5
    #: Gradient clipping (upstream: none).
    max_grad_norm: float | None = None


@dataclass
class RunSection:
    """Amount of training, precision, randomness, checkpoints and logging (docs/training.md)."""

    output_dir: str = "output/affectgpt"
    seed: int = 42
    batch_size: int = 3  # per process
    gradient_accumulation_steps: int = 1
    #: Upstream "epoch" = a fixed number of optimiser steps, not a pass over the data.
    iters_per_epoch: int = 5000
    epochs: int = 60
    #: Stop after this many optimiser steps (default: epochs × iters_per_epoch).
    max_steps: int | None = None
    #: ``fp16`` = upstream autocast + GradScaler (GPU only: fp32 on a CPU); ``bf16`` also runs on CPUs.
    mixed_precision: Literal["no", "fp16", "bf16"] = "fp16"
    save_every_steps: int | None = None  # in addition to every epoch end
    keep_last: int | None = None  # delete older step checkpoints (None keeps all)
    write_official_pth: bool = False  # also write checkpoint_%06d_loss_%.3f.pth at each epoch end
    #: Upstream also checkpoints the untrained model before step 1 (epoch 0, loss ``0.000``).
    save_initial_checkpoint: bool = True
    log_every: int = 10
    #: accelerate trackers: ``tensorboard``, ``wandb``, ``mlflow`` … (their packages must be installed).
    log_with: list[str] = field(default_factory=list)
    #: ``auto``: continue from the newest checkpoint in output_dir; ``never``; or a checkpoint folder.
    resume: str = "auto"
    progress: bool = True
    cpu: bool = False  # force CPU even when CUDA is present


@dataclass
class TrainConfig:
    """A whole training run. Defaults = the released face model's recipe on MER-Caption+ (docs/training.md)."""

    name: str = "affectgpt"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    run: RunSection = field(default_factory=RunSection)

    @property
    def total_steps(self) -> int:
        return (
            self.run.max_steps
            if self.run.max_steps is not None
            else self.run.epochs * self.run.iters_per_epoch
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Reject settings that cannot work together, naming the key to change."""
        for task in self.data.tasks:
            if task not in ("description", "ovlabels"):
                raise TrainConfigError(f"data.tasks: unknown task {task!r}; use description and/or ovlabels")
        if not self.data.tasks:
            raise TrainConfigError("data.tasks is empty; give description and/or ovlabels")
        if self.run.batch_size < 1 or self.run.gradient_accumulation_steps < 1:
            raise TrainConfigError("run.batch_size and run.gradient_accumulation_steps must be ≥ 1")
        if self.total_steps < 1:
            raise TrainConfigError("nothing to train: run.max_steps (or epochs × iters_per_epoch) is 0")
        if len(self.optim.betas) != 2:
            raise TrainConfigError("optim.betas needs two numbers, e.g. optim.betas=[0.9,0.999]")
        if self.data.feature_cache is not None:
            if self.model.encoders_train_mode:
                raise TrainConfigError(
                    "data.feature_cache needs frozen encoders in eval mode (cached features cannot carry "
                    "HuBERT's train-mode noise); add model.encoders_train_mode=false"
                )
            if self.model.audio_normalization == "joint_batch":
                raise TrainConfigError(
                    "data.feature_cache cannot reproduce batch-joint audio normalisation (it depends on "
                    "which samples share a batch); add model.audio_normalization=per_sample"
                )
        self._validate_model()
        self._validate_dataset()

    def _validate_model(self) -> None:
        replacement = _RETIRED_TINY_NAMES.get(self.model.config)
        if replacement is not None:
            raise TrainConfigError(
                f"model.config={self.model.config} is no longer a model name: use "
                f"model.config={replacement} model.weights=random_tiny"
            )
        if self.model.random_llm_layers is not None and self.model.weights != "random_full":
            raise TrainConfigError("model.random_llm_layers needs model.weights=random_full")

    def _validate_dataset(self) -> None:
        from ovmer.data.registry import is_manifest
        from ovmer.errors import DatasetError

        if is_manifest(self.data.dataset):
            return
        from ovmer.data.benchmarks import get_benchmark

        try:
            get_benchmark(self.data.dataset)
        except DatasetError as exc:
            raise TrainConfigError(f"data.dataset: {exc} (or csv:PATH for a manifest)") from None
        if not self.data.root:
            raise TrainConfigError(
                f"data.dataset={self.data.dataset} needs data.root=FOLDER (the folder that holds it, e.g. "
                "the MER2025 release folder)"
            )


# ---------------------------------------------------------------------- loading and overrides
def _section_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_value(value: Any, annotation: Any, key: str) -> Any:
    """Return ``value`` converted to ``annotation`` or raise :class:`TrainConfigError` naming ``key``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_value(value, arg, key)
            except TrainConfigError as exc:
                errors.append(str(exc))
        raise TrainConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is Literal:
        if value is False and "no" in args:  # YAML 1.1 reads a bare `no` as false
            value = "no"
        if value not in args:
            raise TrainConfigError(f"{key}={value!r} is not one of {list(args)}")
        return value
    if origin is list:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise TrainConfigError(f"{key} needs a list, e.g. {key}=[a,b]; got {value!r}")
        return [_check_value(v, args[0], key) for v in value]
    if annotation is bool:
        if not isinstance(value, bool):
            raise TrainConfigError(f"{key} needs true or false; got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TrainConfigError(f"{key} needs an integer; got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, str):  # YAML 1.1 reads "2e-5" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise TrainConfigError(f"{key} needs a number; got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TrainConfigError(f"{key} needs a number; got {value!r}")
        return float(value)
    if annotation is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise TrainConfigError(f"{key} needs a string; got {value!r}")
        return value
    raise TrainConfigError(f"{key}: unsupported type {annotation!r}")


def _apply(config: TrainConfig, key: str, value: Any) -> None:
    parts = key.split(".")
    if len(parts) == 1:
        target: Any = config
        field_name = parts[0]
    elif len(parts) == 2:
        target = getattr(config, parts[0], None)
        if target is None or not dataclasses.is_dataclass(target):
            raise TrainConfigError(
                f"unknown config section {parts[0]!r} in {key!r}; sections: model, data, optim, run"
            )
        field_name = parts[1]
    else:
        raise TrainConfigError(f"config key {key!r} is too deep; use section.key")
    hints = _section_types(type(target))
    if field_name not in hints or dataclasses.is_dataclass(hints[field_name]):
        known = sorted(k for k, v in hints.items() if not dataclasses.is_dataclass(v))
        raise TrainConfigError(f"unknown config key {key!r}; keys here: {known}")
    setattr(target, field_name, _check_value(value, hints[field_name], key))


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, full + "."))
        else:
            out.append((full, value))
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` -> (key, YAML-parsed value); ``null`` gives None."""
    import yaml

    if "=" not in text:
        raise TrainConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise TrainConfigError(f"cannot parse the value of {key!r}: {exc}") from exc
    return key.strip(), value


def config_from_dict(data: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Build a config from nested dict values and then ``key=value`` overrides (checked, validated)."""
    config = TrainConfig()
    for key, value in _flatten(data):
        _apply(config, key, value)
    for text in overrides:
        _apply(config, *parse_override(text))
    config.validate()
    return config


def named_train_configs() -> list[str]:
    """Names of the training configs shipped with ovmer (``ovmer/train/configs/*.yaml``)."""
    folder = resources.files("ovmer.train") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_config_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = resources.files("ovmer.train") / "configs" / f"{name_or_path}.yaml"
    if candidate.is_file():
        return Path(str(candidate))
    raise TrainConfigError(
        f"no training config {name_or_path!s}: give a YAML file or one of {named_train_configs()}"
    )


def load_train_config(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """A named config (``mercaptionplus-face``) or YAML file, with ``key=value`` overrides applied."""
    import yaml

    path = resolve_config_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainConfigError(f"cannot read training config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path} must hold a mapping of sections (model, data, optim, run)")
    try:
        return config_from_dict(data, overrides)
    except TrainConfigError as exc:
        raise TrainConfigError(f"{path}: {exc}") from None


def dump_yaml(config: TrainConfig) -> str:
    import yaml

    return yaml.safe_dump(config.to_dict(), sort_keys=False)
