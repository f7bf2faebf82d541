"""Training samples from the dataset registry, the hybrid-task sampler and answer-only loss masking.

Samples come from :mod:`ovmer.data.registry`, the same reader ``prepare``, ``infer`` and ``bench`` use:
a registered dataset in its official layout (MER-Caption+ and OV-MERD from the MER2025 release,
docs/datasets.md, 'Upstream file facts') or a ``csv:PATH`` manifest. For MER2025::

    track2_train_mercaptionplus.csv   name, openset          (OV labels, parsed with string_to_list)
    track3_train_mercaptionplus.csv   name, reason           (descriptions)
    subtitle_chieng.csv               name, english, …       (subtitles)
    openface_face/<name>/<name>.npy   face crops (face model)
    video/<name>.mp4                  raw videos (frame model)
    audio/<name>.wav                  pre-extracted audio

A sample without OV labels or without a description is limited to the other task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, MediaError
from ovmer.models.processing_affectgpt import BOS_TOKEN, EOS_TOKEN, AffectGPTProcessor

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # labels ignored by the cross-entropy
#: Answer of the OV-label task (docs/training.md, 'Upstream sequence rules').
OV_ANSWER = "The character's emotional state is {labels}."


@dataclass
class TrainSample:
    """One training clip: text targets and where its media live."""

    name: str
    subtitle: str
    ovlabels: list[str] | None  # None: no OV labels for this sample
    description: str | None
    faces: Path | None = None
    video: Path | None = None
    audio: Path | None = None

    def answer(self, task: str) -> str:
        """Target text of ``task``; an empty OV list becomes ``neutral`` (as upstream)."""
        if task == "ovlabels":
            labels = self.ovlabels or ["neutral"]
            return OV_ANSWER.format(labels=", ".join(labels))
        if self.description is None:
            raise DatasetError(f"sample {self.name} has no description")
        return self.description

    def has(self, task: str) -> bool:
        return (self.ovlabels is not None) if task == "ovlabels" else (self.description is not None)


# ---------------------------------------------------------------------- readers
def train_sample(sample: Sample) -> TrainSample:
    """A registry sample as a training sample.

    A text label is the OV list joined by ``", "`` (an empty OV-MERD/MER-Caption+ list already reads
    ``neutral``, as upstream) or a discrete emotion, which becomes a one-word OV list; a numeric (valence)
    label gives no OV-label target.
    """
    labels = sample.label
    ovlabels = [w.strip() for w in labels.split(",") if w.strip()] if isinstance(labels, str) else None
    return TrainSample(
        name=sample.name,
        subtitle=sample.subtitle or "",
        ovlabels=ovlabels,
        description=sample.description,
        faces=sample.face,
        video=sample.video,
        audio=sample.audio,
    )


def read_train_samples(root: str | Path | None, dataset: str, split: str = "test") -> list[TrainSample]:
    """Training samples of a registered dataset under ``root`` or of a ``csv:PATH`` manifest."""
    from ovmer.data.registry import load_samples

    return [train_sample(s) for s in load_samples(root, dataset, split)]


# ------------------------------------- sequences (docs/training.md, 'Upstream sequence rules')
@dataclass
class EncodedText:
    """Token ids of one (sample, task): prompt and target tokenised separately (as upstream)."""

    prompt_ids: list[int]
    target_ids: list[int]


def encode_pair(processor: AffectGPTProcessor, sample: TrainSample, task: str) -> EncodedText:
    """Prompt and ``answer + "###"`` tokenised separately, without special tokens.

    Why separately: tokenising the joined string merges the prompt's trailing space with the answer's
    first word, which gives different ids from what the released model was trained on.
    """
    tok = processor.tokenizer
    prompt = processor.prompt(sample.subtitle, task)
    prompt_ids = list(tok(prompt, add_special_tokens=False)["input_ids"])
    target_ids = list(tok(sample.answer(task) + "###", add_special_tokens=False)["input_ids"])
    return EncodedText(prompt_ids, target_ids)


def filter_by_length(
    samples: Sequence[TrainSample], processor: AffectGPTProcessor, tasks: Sequence[str], max_length: int
) -> tuple[list[TrainSample], list[dict[str, Any]]]:
    """Drop samples lacking a task's target or whose prompt + target exceeds ``max_length`` tokens.

    Upstream discards such a sample when drawn and draws a random other one (docs/training.md, 'Upstream
    sequence rules'); doing it up front keeps the sample stream deterministic and lets the run report what was
    left out.
    """
    kept: list[TrainSample] = []
    dropped: list[dict[str, Any]] = []
    for sample in samples:
        missing = [t for t in tasks if not sample.has(t)]
        if missing:
            dropped.append({"name": sample.name, "reason": f"no target for task(s) {missing}"})
            continue
        lengths = {t: sum(map(len, vars(encode_pair(processor, sample, t)).values())) for t in tasks}
        too_long = {t: n for t, n in lengths.items() if n > max_length}
        if too_long:
            dropped.append({"name": sample.name, "reason": f"longer than {max_length} tokens: {too_long}"})
            continue
        kept.append(sample)
    return kept, dropped


def collate_text(
    encoded: Sequence[EncodedText], bos_id: int, eos_id: int, pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``labels`` and ``attention_mask`` (B, L), as upstream's collation.

    input_ids = [<|im_start|>] + prompt + target + [<|im_end|>]; labels mask the BOS and the prompt
    with −100 and keep target + <|im_end|>. The mask is ``input_ids != pad`` like upstream (pad = eos,
    so the final <|im_end|> is masked as input; it only serves as a label).
    """
    rows = [[bos_id, *e.prompt_ids, *e.target_ids, eos_id] for e in encoded]
    labels = [[IGNORE_INDEX] * (1 + len(e.prompt_ids)) + [*e.target_ids, eos_id] for e in encoded]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    label_ids = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, (row, lab) in enumerate(zip(rows, labels, strict=True)):
        input_ids[i, : len(row)] = torch.tensor(row)
        label_ids[i, : len(lab)] = torch.tensor(lab)
    return {
        "input_ids": input_ids,
        "labels": label_ids,
        "attention_mask": (input_ids != pad_id).long(),
    }


# ---------------------------------------------------------------------- sampler
class HybridTaskSampler:
    """Deterministic stream of (sample index, task) batches for every process and micro-step.

    The stream is a sequence of passes; pass ``p`` is a permutation of the samples drawn with seed
    ``(seed, p)`` and a task per position drawn the same way (upstream: ``random.randint`` per draw,
    docs/training.md, 'Upstream sequence rules'). ``drop_last`` as upstream. Optimiser step ``s`` consumes ``world × accum``
    consecutive chunks of ``batch`` draws; process ``r`` at micro-step ``m`` takes chunk ``m·world + r``.
    Hence (a) resuming at step ``s`` needs nothing but ``s`` (the "data position"), and (b) two processes with
    accumulation 1 see exactly the batches one process sees with accumulation 2.
    """

    def __init__(
        self,
        num_samples: int,
        tasks: Sequence[str],
        batch_size: int,
        world_size: int = 1,
        rank: int = 0,
        accumulation: int = 1,
        seed: int = 42,
    ) -> None:
        if num_samples < batch_size:
            raise DatasetError(
                f"only {num_samples} usable training samples for a batch of {batch_size}; "
                "lower run.batch_size or add data"
            )
        self.num_samples = num_samples
        self.tasks = list(tasks)
        self.batch_size = batch_size
        self.world_size = world_size
        self.rank = rank
        self.accumulation = accumulation
        self.seed = seed
        self.chunks_per_pass = num_samples // batch_size
        self._cache: dict[int, tuple[list[int], list[int]]] = {}

    def _pass(self, index: int) -> tuple[list[int], list[int]]:
        if index not in self._cache:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
            order = torch.randperm(self.num_samples, generator=gen).tolist()
            tasks = torch.randint(len(self.tasks), (self.num_samples,), generator=gen).tolist()
            self._cache = {index: (order, tasks)}  # keep one pass in memory
        return self._cache[index]

    def chunk(self, number: int) -> list[tuple[int, str]]:
        """Global chunk ``number`` of the stream: ``batch`` (index, task) pairs."""
        pass_index, position = divmod(number, self.chunks_per_pass)
        order, tasks = self._pass(pass_index)
        start = position * self.batch_size
        return [(order[i], self.tasks[tasks[i]]) for i in range(start, start + self.batch_size)]

    def batches(self, start_step: int, end_step: int) -> Iterator[list[tuple[int, str]]]:
        """This process's micro-batches for optimiser steps ``start_step`` … ``end_step − 1``."""
        per_step = self.world_size * self.accumulation
        for step in range(start_step, end_step):
            for micro in range(self.accumulation):
                yield self.chunk(step * per_step + micro * self.world_size + self.rank)


class _BatchList:
    """A re-iterable batch sampler view for ``DataLoader(batch_sampler=…)``."""

    def __init__(self, sampler: HybridTaskSampler, start_step: int, end_step: int) -> None:
        self.sampler, self.start, self.end = sampler, start_step, end_step

    def __iter__(self) -> Iterator[list[tuple[int, str]]]:
        return self.sampler.batches(self.start, self.end)

    def __len__(self) -> int:
        return (self.end - self.start) * self.sampler.accumulation


# ---------------------------------------------------------------------- dataset
class TrainDataset(torch.utils.data.Dataset):
    """Item ``(index, task)`` -> dict with token ids and media (or cached features), or a failure.

    A sample whose media cannot be read is returned as ``{"name", "error"}``; the collator drops it
    and the training loop records it (upstream silently replaced it by a random other sample).
    """

    def __init__(
        self,
        samples: Sequence[TrainSample],
        processor: AffectGPTProcessor,
        feature_cache: Any | None = None,
    ) -> None:
        self.samples = list(samples)
        self.processor = processor
        self.cache = feature_cache

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, str]) -> dict[str, Any]:
        index, task = item
        sample = self.samples[index]
        encoded = encode_pair(self.processor, sample, task)
        out: dict[str, Any] = {"name": sample.name, "task": task, "text": encoded}
        try:
            if self.cache is not None:
                visual, audio = self.cache.load(sample.name)
                out["visual_features"], out["audio_features"] = visual, audio
            else:
                out["visual"], out["audio"] = load_media(sample, self.processor.config.visual_input)
        except (MediaError, DatasetError, OSError, ValueError) as exc:
            return {"name": sample.name, "task": task, "error": str(exc)}
        return out


def load_media(sample: TrainSample, visual_input: str) -> tuple[np.ndarray, np.ndarray]:
    """(8, 224, 224, 3) uint8 faces (BGR) or frames (RGB), and (8, 32000) float32 audio clips (docs/media.md).

    Goes through the same entry point as inference, so training sees exactly what the model sees
    at test time.
    """
    from ovmer.media.inputs import SampleMedia, build_model_inputs, existing_file

    if visual_input == "face" and sample.faces is None:
        raise MediaError(f"sample {sample.name} has no face array (column 'faces')")
    if visual_input != "face" and sample.video is None:
        raise MediaError(f"sample {sample.name} has no video (column 'video')")
    if existing_file(sample.audio) is None and sample.video is None:
        raise MediaError(f"sample {sample.name} has no audio (column 'audio') and no video to take it from")
    media = SampleMedia(name=sample.name, video=sample.video, wav=sample.audio, face_array=sample.faces)
    inputs = build_model_inputs(media, visual_input, faces="official" if visual_input == "face" else "auto")
    return inputs.visual(visual_input), inputs.audio


class TrainCollator:
    """Turns dataset items into one model batch; failed items are dropped and listed in ``skipped``."""

    def __init__(self, processor: AffectGPTProcessor) -> None:
        self.processor = processor
        tok = processor.tokenizer
        self.bos_id = int(tok.convert_tokens_to_ids(BOS_TOKEN))
        self.eos_id = int(tok.convert_tokens_to_ids(EOS_TOKEN))
        self.pad_id = processor.pad_id

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        good = [i for i in items if "error" not in i]
        skipped = [{"name": i["name"], "task": i["task"], "error": i["error"]} for i in items if "error" in i]
        batch: dict[str, Any] = {"skipped": skipped, "names": [i["name"] for i in good], "size": len(good)}
        if not good:
            return batch
        batch.update(collate_text([i["text"] for i in good], self.bos_id, self.eos_id, self.pad_id))
        if "visual_features" in good[0]:
            batch["visual_features"] = torch.stack([i["visual_features"] for i in good])  # (B, T, Dv)
            batch["audio_features"] = torch.stack([i["audio_features"] for i in good])  # (B, K, Da)
        else:
            is_face = self.processor.config.visual_input == "face"
            batch["pixel_values"] = self.processor.pixel_values([i["visual"] for i in good], is_face)
            batch["audio_values"] = self.processor.audio_values([i["audio"] for i in good])
        return batch


def build_loader(
    dataset: TrainDataset,
    sampler: HybridTaskSampler,
    start_step: int,
    end_step: int,
    num_workers: int,
) -> torch.utils.data.DataLoader:
    """A DataLoader over the sampler's batches from ``start_step``.

    It gets its own generator so that creating it never draws from the global torch RNG (which LoRA
    dropout and HuBERT use): the RNG stream of a resumed run then matches an uninterrupted one.
    """
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=_BatchList(sampler, start_step, end_step),
        collate_fn=TrainCollator(dataset.processor),
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(sampler.seed + start_step),
        persistent_workers=False,
    )
