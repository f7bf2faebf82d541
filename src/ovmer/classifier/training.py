"""Train K voting members per dataset, each on its own seed and held-out split, and report their scores.

Why several members: the filter keeps a clip when the *majority* of classifiers agrees with its
description (docs/classifier.md); members differ by seed (initialisation, dropout, batch order and
which clips are held out) and by the dataset they learn from.

Recipe (upstream ``MERBench/main-release.py`` defaults where it has one): Adam, learning rate 1e-3,
weight decay (``--l2``) 1e-5, batch 32, 100 epochs, cross-entropy on each head that has a label
(clips without one are ignored by that head). Upstream picks the best epoch on a validation fold;
ovmer keeps the last epoch so that the held-out split stays unseen and its scores are honest.
The held-out split is stratified by the emotion label (sentiment for sentiment-only data).

Layout of ``--out``::

    settings.json            the settings of the run (a rerun with others is refused)
    <member>/model.safetensors, <member>/config.json   one folder per member (ovmer.classifier.model)
    train_report.json, train_report.md                 held-out scores, skipped clips

A rerun keeps finished members and trains the rest (resumable); clips whose features are missing or
broken are recorded in the report and skipped, never fatal.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.classifier.features import MODALITIES, FeatureFolders, usable_vectors
from ovmer.classifier.labels import LabelTable, read_labels
from ovmer.classifier.model import (
    ClassifierConfig,
    FusionClassifier,
    Member,
    is_member,
    load_member,
    save_member,
    torch_threads,
)
from ovmer.classifier.votes import SENTIMENT_CLASSES
from ovmer.errors import DatasetError, TrainConfigError
from ovmer.metrics.sentiment import weighted_f1

IGNORE = -100  # cross-entropy's ignore_index: this clip has no label for this head
SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class TrainSettings:
    """How members are trained; defaults follow upstream ``MERBench/main-release.py`` where it has one."""

    members: int = 1  # per dataset; member k uses seed + k
    seed: int = 0
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    hidden_dim: int = 128
    dropout: float = 0.3
    held_out: float = 0.2  # fraction of each class kept out of training and scored
    modalities: tuple[str, ...] = ("audio", "visual")  # CLIP ViT-L/14 + chinese-hubert-large; add "text"
    neutral_band: float = 0.0  # |valence| <= band → neutral

    def __post_init__(self) -> None:
        bad = [m for m in self.modalities if m not in MODALITIES]
        if not self.modalities or bad:
            raise TrainConfigError(f"modalities {list(self.modalities)}: choose from {', '.join(MODALITIES)}")
        if min(self.members, self.epochs, self.batch_size, self.hidden_dim) < 1:
            raise TrainConfigError("members, epochs, batch size and hidden size must be ≥ 1")
        if not 0.0 < self.held_out < 1.0:
            raise TrainConfigError(f"held-out fraction {self.held_out} must be in (0, 1)")


@dataclass
class TrainingData:
    """The clips of one dataset that have both labels and features; arrays are row-aligned."""

    dataset: str
    names: list[str]
    inputs: dict[str, np.ndarray]  # modality → (N, D_m) float32
    emotion: np.ndarray  # (N,) int64 class index, IGNORE where unlabelled
    sentiment: np.ndarray  # (N,) int64 index into SENTIMENT_CLASSES, IGNORE where unlabelled
    emotion_labels: tuple[str, ...]
    has_sentiment: bool
    skipped: list[dict[str, str]] = field(default_factory=list)


def gather_training_data(
    table: LabelTable, features: FeatureFolders, modalities: Sequence[str]
) -> TrainingData:
    """Join labels and features by clip name; a clip without usable features is skipped with a reason."""
    modalities = [m for m in MODALITIES if m in modalities]
    emotion_labels = table.emotion_labels
    rows: list[tuple[str, dict[str, np.ndarray], int, int]] = []
    skipped: list[dict[str, str]] = []
    dims: dict[str, int] = {}
    for sample in table.samples:
        reason, vectors = usable_vectors(features, sample.name, modalities, dims)
        if reason:
            skipped.append({"dataset": table.dataset, "name": sample.name, "reason": reason})
            continue
        dims = dims or {m: vectors[m].shape[0] for m in modalities}
        emotion = IGNORE if sample.emotion is None else emotion_labels.index(sample.emotion)
        sentiment = IGNORE if sample.sentiment is None else SENTIMENT_CLASSES.index(sample.sentiment)
        rows.append((sample.name, vectors, emotion, sentiment))
    if len(rows) < 2:
        raise DatasetError(
            f"{table.dataset}: only {len(rows)} of {len(table.samples)} labelled clips have {'+'.join(modalities)} "
            f"features in {[str(f) for f in features.folders]}; extract features for them first"
        )
    return TrainingData(
        dataset=table.dataset,
        names=[r[0] for r in rows],
        inputs={m: np.stack([r[1][m] for r in rows]) for m in modalities},
        emotion=np.array([r[2] for r in rows], dtype=np.int64),
        sentiment=np.array([r[3] for r in rows], dtype=np.int64),
        emotion_labels=emotion_labels,
        has_sentiment=table.has_sentiment,
        skipped=skipped,
    )


def held_out_split(strata: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train indices, held-out indices), both sorted; every class of ≥ 2 clips gives at
    least one held-out clip and keeps at least one for training. Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        rng.shuffle(members)
        if len(members) >= 2:
            count = min(len(members) - 1, max(1, round(fraction * len(members))))
            held.extend(int(i) for i in members[:count])
    held_mask = np.zeros(len(strata), dtype=bool)
    held_mask[held] = True
    return np.flatnonzero(~held_mask), np.flatnonzero(held_mask)


def _loss(
    logits: tuple[torch.Tensor | None, torch.Tensor | None], targets: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor | None:
    """Sum of the heads' cross-entropies over the clips labelled for each head (None: no label at all)."""
    total: torch.Tensor | None = None
    for head_logits, target in zip(logits, targets, strict=True):
        if head_logits is None or not bool((target != IGNORE).any()):
            continue
        term = torch.nn.functional.cross_entropy(head_logits, target, ignore_index=IGNORE)
        total = term if total is None else total + term
    return total


def fit_member(
    data: TrainingData,
    train_idx: np.ndarray,
    settings: TrainSettings,
    seed: int,
    on_epoch: Callable[[], None] | None = None,
) -> FusionClassifier:
    """Train one network on ``data`` rows ``train_idx`` (CPU, deterministic in ``seed``)."""
    config = ClassifierConfig(
        modalities=tuple(data.inputs),
        input_dims={m: int(x.shape[1]) for m, x in data.inputs.items()},
        emotion_labels=data.emotion_labels,
        sentiment_labels=SENTIMENT_CLASSES if data.has_sentiment else (),
        hidden_dim=settings.hidden_dim,
        dropout=settings.dropout,
    )
    inputs = {m: torch.from_numpy(x[train_idx]) for m, x in data.inputs.items()}
    targets = (torch.from_numpy(data.emotion[train_idx]), torch.from_numpy(data.sentiment[train_idx]))
    # fork_rng: seeds init and dropout without touching the caller's RNG; results do not depend on threads
    with torch_threads(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FusionClassifier(config)
        for modality, x in inputs.items():
            model.set_standardisation(modality, x.mean(dim=0), x.std(dim=0, unbiased=False))
        order = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        model.train()
        for _ in range(settings.epochs):
            for batch in torch.randperm(len(train_idx), generator=order).split(settings.batch_size):
                loss = _loss(
                    model({m: x[batch] for m, x in inputs.items()}), (targets[0][batch], targets[1][batch])
                )
                if loss is None:
                    continue
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if on_epoch is not None:
                on_epoch()
    model.eval()
    return model


@torch.no_grad()
def head_scores(model: FusionClassifier, data: TrainingData, rows: np.ndarray) -> dict[str, Any]:
    """Accuracy and weighted F1 of each head on ``rows`` (clips labelled for that head only)."""
    logits = model({m: torch.from_numpy(x[rows]) for m, x in data.inputs.items()})
    scores: dict[str, Any] = {}
    for task, head_logits, truth in zip(
        ("emotion", "sentiment"), logits, (data.emotion[rows], data.sentiment[rows]), strict=True
    ):
        labelled = truth != IGNORE
        if head_logits is None or not labelled.any():
            scores[task] = None
            continue
        predicted = head_logits.argmax(dim=1).numpy()[labelled]
        truth = truth[labelled]
        scores[task] = {
            "accuracy": float(np.mean(predicted == truth)),
            "weighted_f1": float(weighted_f1(truth, predicted)),
            "clips": int(labelled.sum()),
            "chance": float(np.max(np.bincount(truth)) / len(truth)),  # majority-class accuracy
        }
    return scores


def train_one(
    data: TrainingData,
    name: str,
    seed: int,
    settings: TrainSettings,
    on_epoch: Callable[[], None] | None = None,
) -> Member:
    """One member: split, fit, score on the held-out clips; ``info`` is what its config.json records."""
    strata = np.where(data.emotion != IGNORE, data.emotion, 1000 + data.sentiment)
    train_idx, held_idx = held_out_split(strata, settings.held_out, seed)
    model = fit_member(data, train_idx, settings, seed, on_epoch)
    info = {
        "dataset": data.dataset,
        "seed": seed,
        "train_clips": len(train_idx),
        "held_out_clips": len(held_idx),
        "held_out": head_scores(model, data, held_idx),
        "held_out_names": [data.names[i] for i in held_idx],
        "settings": asdict(settings),
    }
    return Member(name=name, model=model, info=info)


def check_settings(out: Path, settings: TrainSettings, datasets: Sequence[str]) -> None:
    """Refuse to mix members trained with other settings in one folder; record these settings."""
    from ovmer.atomic import write_json_atomic

    current = {"settings": asdict(settings), "datasets": list(datasets)}
    current = json.loads(json.dumps(current))  # tuples → lists, as read back
    path = out / SETTINGS_FILE
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != current:
            keys = sorted(
                k
                for k in current["settings"]
                if previous.get("settings", {}).get(k) != current["settings"][k]
            )
            raise TrainConfigError(
                f"{out}: holds members trained with other settings (differs in {keys or ['datasets']}); "
                "use another --out or the same options"
            )
    write_json_atomic(path, current)


def train_members(
    datasets: Sequence[str],
    features: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    settings: TrainSettings,
    *,
    data_root: str | os.PathLike[str] | None = None,
    splits: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``settings.members`` members per dataset into ``out`` and write the report (JSON + Markdown).

    Returns the report dict (``members``: name, dataset, seed, sizes, held-out scores; ``skipped``).
    Raises DatasetError / InputFormatError for an unknown dataset or unreadable labels.
    """
    from ovmer.classifier.report import write_train_report
    from ovmer.progress import progress_bar

    out = Path(out)
    folders = FeatureFolders(features)
    tables = [read_labels(d, data_root, splits, settings.neutral_band) for d in datasets]
    gathered = [gather_training_data(t, folders, settings.modalities) for t in tables]  # fail before training
    out.mkdir(parents=True, exist_ok=True)
    check_settings(out, settings, datasets)
    report: dict[str, Any] = {"settings": asdict(settings), "datasets": [], "members": [], "skipped": []}
    used: set[str] = set()
    with progress_bar("classifier", disable=not progress) as bar:
        for table, data in zip(tables, gathered, strict=True):
            report["datasets"].append(
                {"dataset": table.dataset, "labels": table.source, "labelled": len(table.samples),
                 "with_features": len(data.names), "skipped": len(data.skipped)}
            )  # fmt: skip
            report["skipped"].extend(data.skipped)
            for k in range(settings.members):
                seed = settings.seed + k
                name = _unique(f"{table.dataset}-seed{seed}", used)
                task = bar.add_task(name, total=settings.epochs)
                if is_member(out / name):  # finished in an earlier run: keep it
                    member = load_member(out / name)
                else:
                    member = train_one(data, name, seed, settings, functools.partial(bar.advance, task))
                    save_member(out / name, member)
                bar.update(task, completed=settings.epochs)
                report["members"].append(_member_row(member))
    write_train_report(out, report)
    return report


def _unique(name: str, used: set[str]) -> str:
    candidate, index = name, 2
    while candidate in used:
        candidate, index = f"{name}-{index}", index + 1
    used.add(candidate)
    return candidate


def _member_row(member: Member) -> dict[str, Any]:
    info = member.info
    return {
        "name": member.name,
        "dataset": info.get("dataset"),
        "seed": info.get("seed"),
        "emotion_labels": list(member.model.config.emotion_labels),
        "train_clips": info.get("train_clips"),
        "held_out_clips": info.get("held_out_clips"),
        "held_out": info.get("held_out"),
    }
