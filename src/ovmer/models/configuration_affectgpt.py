"""``AffectGPTConfig``: everything needed to build an AffectGPT model, as data (docs/model.md).

The config holds the three backbone architectures as plain dicts (the fields of ``Qwen2Config``,
``CLIPVisionConfig`` and ``HubertConfig``), so that the full-size model can be built on the meta device
with no download, and tiny test models use the same code path. Named configs live in
``ovmer/models/configs/<name>.json``; ``AffectGPTConfig.from_pretrained`` accepts such a name, a JSON
file or a model folder holding ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ovmer.errors import ModelError

CONFIG_NAME = "config.json"

VisualInput = Literal["face", "frame"]
ChannelOrder = Literal["bgr", "rgb"]
#: How HuBERT inputs are normalised (docs/model.md, 'Backbones and encoders'). ``per_sample``: the
#: 8 clips of one sample share one mean/variance, which is what upstream inference (batch 1) does;
#: ``joint_batch``: one mean/variance over the whole batch (upstream training); ``per_clip``: clean mode.
AudioNormalization = Literal["per_sample", "joint_batch", "per_clip"]


@dataclass
class LoraSettings:
    """Upstream's LoRA: r 16, alpha 32 (scaling 2.0), dropout 0.05, all seven linear types.

    See docs/model.md, 'LoRA, freezing and precision'.
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_types: tuple[str, ...] = (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.down_proj",
        "mlp.up_proj",
    )

    @property
    def scaling(self) -> float:
        return self.alpha / self.r


@dataclass
class GenerationSettings:
    """Generation settings of a model (docs/model.md, "Inference"): the one place their defaults live.

    ``max_new_tokens`` is the generation budget that ``ovmer infer``/``describe`` and
    ``DecodingSettings`` use unless told otherwise; ``paper_*`` are the paper's sampling values.
    Upstream (``conversation/conversation_video.py``) tokenises prompts with right truncation at
    ``max_length`` 2000 = ``max_prompt_tokens`` + ``max_new_tokens``, then keeps the last 800.
    """

    max_new_tokens: int = 1200
    max_prompt_tokens: int = 800  # upstream keeps the last 2000 - 1200 prompt tokens
    paper_temperature: float = 1.0
    paper_top_p: float = 0.9
    paper_top_k: int = 20  # inherited from Qwen2.5-7B-Instruct's generation_config.json


@dataclass
class AffectGPTConfig:
    """Architecture, inputs and pinned base checkpoints of one AffectGPT variant.

    Defaults reproduce the released models; ``name`` is informative only (no behaviour depends on it).
    """

    name: str = "affectgpt"
    model_type: str = "affectgpt"
    prompt_mode: Literal["multiface_audio_face_text", "multiframe_audio_frame_text"] = (
        "multiface_audio_face_text"
    )
    visual_input: VisualInput = "face"
    # Fidelity: faces reach CLIP in BGR (OpenFace crops read by OpenCV, docs/media.md 'Faces'); frames in RGB.
    face_channel_order: ChannelOrder = "bgr"
    audio_normalization: AudioNormalization = "per_sample"
    num_frames: int = 8  # docs/media.md, 'Frames'
    num_audio_clips: int = 8  # docs/media.md, 'Audio'
    audio_sample_rate: int = 16000
    audio_clip_samples: int = 32000  # 2 s at 16 kHz
    image_size: int = 224
    # OpenAI CLIP normalisation (the checkpoint's preprocessor_config.json).
    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    hubert_layers_averaged: int = 4  # mean of the last four hidden states (upstream encoder.py)
    # Soft-token budgets per placeholder (num_*_query_token upstream; 1 for every released model).
    num_visual_tokens: int = 1
    num_audio_tokens: int = 1
    num_multi_tokens: int = 1
    num_image_tokens: int = 1
    # Backbones by Hugging Face id with pinned revisions (docs/model.md, 'Backbones and encoders').
    llm_id: str = "Qwen/Qwen2.5-7B-Instruct"
    llm_revision: str | None = None
    vision_id: str = "openai/clip-vit-large-patch14"
    vision_revision: str | None = None
    audio_id: str = "TencentGameMate/chinese-hubert-large"
    audio_revision: str | None = None
    # Backbone architectures (fields of Qwen2Config / CLIPVisionConfig / HubertConfig).
    text_config: dict[str, Any] = field(default_factory=dict)
    vision_config: dict[str, Any] = field(default_factory=dict)
    audio_config: dict[str, Any] = field(default_factory=dict)
    # Ids of the five placeholder tokens in PLACEHOLDER_TOKENS order (asserted against the tokenizer;
    # docs/model.md, 'Tokenizer, prompts and placeholders').
    placeholder_token_ids: list[int] | None = None
    eos_token_ids: list[int] | None = None  # [<|im_end|>, <|endoftext|>] = [151645, 151643]
    pad_token_id: int | None = None  # 151643
    lora: LoraSettings = field(default_factory=LoraSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    # ------------------------------------------------------------------ derived values
    @property
    def llm_hidden_size(self) -> int:
        return int(self.text_config["hidden_size"])

    @property
    def vision_embed_dim(self) -> int:
        """Width of CLIP's projected image embedding (768 for ViT-L/14)."""
        return int(self.vision_config["projection_dim"])

    @property
    def audio_hidden_size(self) -> int:
        return int(self.audio_config["hidden_size"])

    @property
    def fusion_dim(self) -> int:
        """D_m = max(D_a, D_v) of the heads (1024; docs/model.md, 'Fusion heads')."""
        return max(self.audio_hidden_size, self.vision_embed_dim)

    @property
    def visual_placeholder(self) -> str:
        return "<FaceHere>" if self.visual_input == "face" else "<FrameHere>"

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AffectGPTConfig:
        """Build from a dict; unknown keys are an error so that typos in config files do not pass."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown AffectGPT config keys {unknown}; known keys: {sorted(known)}")
        if "lora" in data:
            lora = dict(data["lora"])
            if "target_types" in lora:
                lora["target_types"] = tuple(lora["target_types"])
            data["lora"] = LoraSettings(**lora)
        if "generation" in data:
            data["generation"] = GenerationSettings(**data["generation"])
        for key in ("image_mean", "image_std"):
            if key in data:
                data[key] = tuple(data[key])
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        """Reject inconsistent settings with a message saying which field to fix."""
        if self.visual_input not in ("face", "frame"):
            raise ModelError(f"visual_input must be 'face' or 'frame', not {self.visual_input!r}")
        expected_mode = {"face": "multiface_audio_face_text", "frame": "multiframe_audio_frame_text"}
        if self.prompt_mode != expected_mode[self.visual_input]:
            raise ModelError(
                f"prompt_mode {self.prompt_mode!r} does not match visual_input {self.visual_input!r}; "
                f"use {expected_mode[self.visual_input]!r}"
            )
        for key in ("text_config", "vision_config", "audio_config"):
            if not getattr(self, key):
                raise ModelError(f"AffectGPT config {self.name!r} has an empty {key}")

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json`` into ``folder`` (atomically) and return its path."""
        from ovmer.atomic import write_json_atomic

        path = Path(folder) / CONFIG_NAME
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> AffectGPTConfig:
        """Load a named config (``affectgpt-face``), a JSON file, or a folder with ``config.json``."""
        path = Path(name_or_path)
        if path.is_dir():
            path = path / CONFIG_NAME
        if not path.is_file():
            named = named_config_path(str(name_or_path))
            if named is None:
                raise ModelError(
                    f"no AffectGPT config at {name_or_path!s}: give a folder with config.json, a JSON "
                    f"file, or one of the named configs {list_named_configs()}"
                )
            path = named
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"cannot read AffectGPT config {path}: {exc}") from exc
        return cls.from_dict(data)


def list_named_configs() -> list[str]:
    """Names of the configs shipped in ``ovmer/models/configs``."""
    folder = resources.files("ovmer.models") / "configs"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def named_config_path(name: str) -> Path | None:
    """The JSON file of a named config, or ``None`` when there is no such name."""
    candidate = resources.files("ovmer.models") / "configs" / f"{name}.json"
    return Path(str(candidate)) if candidate.is_file() else None
