"""The attention-fusion classifier (MERBench's ``attention`` model, utterance features) and its files.

Shapes (B clips, M modalities of ``config.modalities``, H = ``hidden_dim``)::

    x_m (B, D_m) ─ standardise (training-set mean/std, stored as buffers) ─ encoder_m ─► h_m (B, H)
    cat(h_1..h_M) (B, M·H) ─ attention MLP ─ Linear ─► a (B, M)          (raw weights, no softmax,
    fused = Σ_m a_m · h_m (B, H)                                            as upstream)
    emotion_head(fused) (B, E)      sentiment_head(fused) (B, 3)

Upstream (``MERBench/toolkit/models/attention.py``) fuses exactly three modalities (audio, text,
video) with one MLP encoder each, an MLP + ``Linear(H, 3)`` for the weights, an emotion head and a
valence regression head. ovmer takes any non-empty subset of the modalities, and its second head
classifies sentiment (negative/neutral/positive) so that members vote in the same space as the
step-B sentiment of a description (docs/classifier.md). The standardisation buffers replace
upstream's per-feature preprocessing so that a member file alone is enough to predict.

A member folder holds ``model.safetensors`` (weights and buffers; read weights-only, strictly) and
``config.json`` (architecture, classes, the member's seed, dataset and held-out scores). Nothing in
either runs code when loaded (docs/security.md).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ovmer.classifier.features import MODALITIES
from ovmer.classifier.votes import SENTIMENT_CLASSES
from ovmer.errors import CheckpointKeyError, ModelError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = 1
#: Threads for training and prediction. These MLPs are too small for intra-op parallelism to pay: a
#: default member on 2,000 clips of the real sizes trained in 42 s on one thread and 220 s on two busy
#: cores (``benchmarks/classifier.py``, docs/classifier.md). Results do not depend on it.
THREADS = 1


@contextlib.contextmanager
def torch_threads(count: int | None = None) -> Iterator[None]:
    """Run the block with ``count`` torch threads (default :data:`THREADS`), then restore the caller's."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS if count is None else count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class ClassifierConfig:
    """What a member's network looks like; saved in ``config.json`` under ``"model"``."""

    modalities: tuple[str, ...]  # in MODALITIES order
    input_dims: dict[str, int]  # modality → D_m
    emotion_labels: tuple[str, ...]  # the emotion head's classes; () → no emotion head
    sentiment_labels: tuple[str, ...] = SENTIMENT_CLASSES  # () → no sentiment head
    hidden_dim: int = 128  # MERBench's model-tune.yaml draws 64/128/256
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if not self.modalities or any(m not in MODALITIES for m in self.modalities):
            raise ModelError(
                f"modalities {list(self.modalities)} must be a non-empty subset of {list(MODALITIES)}"
            )
        if set(self.input_dims) != set(self.modalities) or min(self.input_dims.values()) < 1:
            raise ModelError(
                f"input_dims {self.input_dims} must give a positive size for each of {self.modalities}"
            )
        if self.sentiment_labels not in ((), SENTIMENT_CLASSES):
            raise ModelError(f"sentiment_labels must be {list(SENTIMENT_CLASSES)} or empty")
        if not self.emotion_labels and not self.sentiment_labels:
            raise ModelError("a member needs an emotion head, a sentiment head, or both")
        if self.hidden_dim < 1 or not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"hidden_dim {self.hidden_dim} must be ≥ 1 and dropout {self.dropout} in [0, 1)")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Any, where: str) -> ClassifierConfig:
        """Rebuild from :meth:`to_json`'s dict; ``where`` names the file in errors."""
        try:
            return cls(
                modalities=tuple(str(m) for m in obj["modalities"]),
                input_dims={str(k): int(v) for k, v in obj["input_dims"].items()},
                emotion_labels=tuple(str(e) for e in obj["emotion_labels"]),
                sentiment_labels=tuple(str(s) for s in obj["sentiment_labels"]),
                hidden_dim=int(obj["hidden_dim"]),
                dropout=float(obj["dropout"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: the model config is incomplete or mistyped ({exc!r})") from None


def _encoder(in_dim: int, hidden_dim: int, dropout: float) -> nn.Sequential:
    """Two Linear–ReLU–Dropout layers: (B, in_dim) → (B, hidden_dim)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
    )  # fmt: skip


class FusionClassifier(nn.Module):
    """Attention fusion over utterance vectors with an emotion and/or a sentiment head (shapes above)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        hidden, count = config.hidden_dim, len(config.modalities)
        for modality in config.modalities:
            self.register_buffer(f"mean_{modality}", torch.zeros(config.input_dims[modality]))
            self.register_buffer(f"std_{modality}", torch.ones(config.input_dims[modality]))
        self.encoders = nn.ModuleDict(
            {m: _encoder(config.input_dims[m], hidden, config.dropout) for m in config.modalities}
        )
        self.attention = nn.Sequential(
            _encoder(hidden * count, hidden, config.dropout), nn.Linear(hidden, count)
        )
        self.emotion_head = nn.Linear(hidden, len(config.emotion_labels)) if config.emotion_labels else None
        self.sentiment_head = (
            nn.Linear(hidden, len(config.sentiment_labels)) if config.sentiment_labels else None
        )

    def set_standardisation(self, modality: str, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training set's per-dimension mean and std (D,) for ``modality``."""
        getattr(self, f"mean_{modality}").copy_(mean)
        getattr(self, f"std_{modality}").copy_(std.clamp_min(1e-6))

    def forward(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``inputs[m]`` (B, D_m) → (emotion logits (B, E) or None, sentiment logits (B, 3) or None)."""
        hidden = [
            self.encoders[m]((inputs[m] - getattr(self, f"mean_{m}")) / getattr(self, f"std_{m}"))
            for m in self.config.modalities
        ]  # M × (B, H)
        weights = self.attention(torch.cat(hidden, dim=1))  # (B, M)
        fused = torch.einsum("bhm,bm->bh", torch.stack(hidden, dim=2), weights)  # (B, H)
        emotion = self.emotion_head(fused) if self.emotion_head is not None else None
        sentiment = self.sentiment_head(fused) if self.sentiment_head is not None else None
        return emotion, sentiment


@dataclass
class Member:
    """A trained member: its network and what ``config.json`` says about it (``info``: seed, dataset,
    held-out scores, training settings)."""

    name: str
    model: FusionClassifier
    info: dict[str, Any] = field(default_factory=dict)


def save_member(folder: str | os.PathLike[str], member: Member) -> Path:
    """Write ``model.safetensors`` then ``config.json`` atomically (the config marks a finished member)."""
    from safetensors.torch import save

    from ovmer.atomic import write_bytes_atomic, write_json_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in member.model.state_dict().items()}
    write_bytes_atomic(folder / WEIGHTS_FILE, save(state, metadata={"format": str(FORMAT)}))
    config = {"format": FORMAT, "name": member.name, "model": member.model.config.to_json(), **member.info}
    write_json_atomic(folder / CONFIG_FILE, config)
    return folder


def is_member(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a finished member (both files)."""
    folder = Path(folder)
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def load_member(folder: str | os.PathLike[str]) -> Member:
    """Load a member folder strictly: every weight present, none extra, every shape right.

    Raises:
        ModelError: a missing or unreadable file, or a bad config.
        CheckpointKeyError: the weights do not match the config's network (keys or shapes named).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not is_member(folder):
        raise ModelError(f"{folder}: not a classifier member ({CONFIG_FILE} and {WEIGHTS_FILE} expected)")
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        weights = load_file(str(folder / WEIGHTS_FILE))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"{folder}: cannot read the member ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{folder / CONFIG_FILE}: not a format-{FORMAT} classifier config")
    model = FusionClassifier(ClassifierConfig.from_json(config.get("model"), str(folder / CONFIG_FILE)))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    shapes = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or unexpected or shapes:
        raise CheckpointKeyError(
            f"{folder / WEIGHTS_FILE}: does not match {CONFIG_FILE} (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}, wrong shape {shapes[:5]}); train the member again"
        )
    model.load_state_dict(weights, strict=True)
    model.eval()
    info = {k: v for k, v in config.items() if k not in ("format", "name", "model")}
    return Member(name=str(config.get("name") or folder.name), model=model, info=info)
