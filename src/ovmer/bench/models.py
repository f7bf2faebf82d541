"""Models ``ovmer bench`` can run: each turns one dataset sample into a free-text answer.

The table :data:`MODEL_FACTORIES` maps a spec prefix to the function that builds the model, so a
reader sees at once where every model comes from; later issues add zero-shot MLLMs to it.

* ``clues`` — the offline clue engine (:mod:`ovmer.clues`); uses the dataset's subtitle as the
  transcript when there is one (Whisper tiny.en otherwise);
* ``affectgpt:<model>[?key=value&…]`` — AffectGPT (:mod:`ovmer.inference`) with the OV-label question,
  greedy decoding by default. ``<model>`` is an ovmer model folder, a Hugging Face id, or an official
  ``.pth`` with ``config=affectgpt-face|affectgpt-frame``; the options are the fields of
  :class:`AffectGPTOptions` (for example ``affectgpt:ckpt.pth?config=affectgpt-face&dtype=fp16``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ovmer.data.registry import Sample
from ovmer.errors import OvmerError

if TYPE_CHECKING:
    from ovmer.inference.media_inputs import VideoInputs


class BenchModel(Protocol):
    """A model under test."""

    identity: str  # recorded in results; also the run folder's guard against mixing models

    def answer(self, sample: Sample) -> str:
        """The free-text answer for one sample (what upstream stores in ``name2reason``)."""
        ...


@runtime_checkable
class BatchedBenchModel(BenchModel, Protocol):
    """A model that answers several samples in one call (GPU models: one sample at a time wastes it)."""

    batch_size: int

    def answer_batch(self, samples: Sequence[Sample]) -> list[str | Exception]:
        """One answer per sample, or the error that sample raised (the others are still answered)."""
        ...


class ClueModel:
    """The offline clue engine as a benchmark model (CPU only, no download)."""

    def __init__(self, fps: float = 5.0) -> None:
        self.fps = fps
        self.identity = "clues:v1"

    def answer(self, sample: Sample) -> str:
        from ovmer.clues import describe_with_clues

        if sample.video is None:
            raise OvmerError("no video file for this sample")
        subtitle = sample.subtitle or None
        result = describe_with_clues(
            sample.video, subtitle=subtitle, fps=self.fps, transcribe_speech=subtitle is None
        )
        return result.description


@dataclass(frozen=True)
class AffectGPTOptions:
    """``key=value`` options of an ``affectgpt:`` spec (defaults: the OV-label task, greedy)."""

    config: str | None = None  # for an official .pth: affectgpt-face, affectgpt-frame or a model folder
    device: str = "auto"  # cuda when available
    dtype: str = "auto"  # fp16 on CUDA, fp32 on CPU
    decoding: str = "greedy"  # or "paper" (top-k 20, top-p 0.9, T 1, seeded)
    seed: int = 0
    max_new_tokens: int = 1200  # the paper's budget
    batch_size: int = 8  # samples per generate call (greedy answers do not depend on it)

    @classmethod
    def parse(cls, query: str) -> AffectGPTOptions:
        """``key=value&key=value`` → options, each value converted to the field's type."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, query.split("&")):
            key, sep, value = item.partition("=")
            if not sep or key not in fields:
                raise OvmerError(
                    f"affectgpt spec option {item!r} is not key=value with a known key ({', '.join(fields)})"
                )
            if fields[key].type == "int":
                try:
                    values[key] = int(value)
                except ValueError:
                    raise OvmerError(
                        f"affectgpt spec option {key} must be an integer, got {value!r}"
                    ) from None
            else:
                values[key] = value
        options = cls(**values)
        if options.decoding not in ("greedy", "paper"):
            raise OvmerError(
                f"affectgpt spec option decoding must be greedy or paper, got {options.decoding!r}"
            )
        return options


class AffectGPTModel:
    """AffectGPT loaded once; each sample is decoded (official faces / wav when the dataset has them,
    else faces detected in and audio taken from the video) and answered with the OV-label question."""

    task = "ovlabels"

    def __init__(self, model: str, options: AffectGPTOptions) -> None:
        from ovmer.inference.engine import load_engine
        from ovmer.inference.runner import SampleLoader
        from ovmer.models.generation import DecodingSettings

        self.engine = load_engine(model, options.config, options.device, options.dtype)
        self.decoding = DecodingSettings(
            mode="paper" if options.decoding == "paper" else "greedy",
            seed=options.seed,
            max_new_tokens=options.max_new_tokens,
        )
        self.loader = SampleLoader()
        self.batch_size = max(1, options.batch_size)
        decoding = self.decoding.describe()
        settings = ",".join(f"{k}={decoding[k]}" for k in sorted(decoding))
        self.identity = f"affectgpt:{self.engine.source}[{self.engine.model.config.name};{settings}]"

    def answer(self, sample: Sample) -> str:
        [outcome] = self.answer_batch([sample])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def answer_batch(self, samples: Sequence[Sample]) -> list[str | Exception]:
        """Decode each sample (a bad one becomes its error) and answer the rest in one batch."""
        kind = self.engine.model.config.visual_input
        decoded: list[tuple[VideoInputs, str | None] | Exception] = []
        for sample in samples:
            try:
                decoded.append(self.loader(sample, kind))
            except OvmerError as exc:
                decoded.append(exc)
        good = [x for x in decoded if not isinstance(x, Exception)]
        texts = iter(
            r.text
            for r in (
                self.engine.respond([x[0] for x in good], [x[1] for x in good], self.task, self.decoding)
                if good
                else []
            )
        )
        return [x if isinstance(x, Exception) else next(texts) for x in decoded]


def _clues(argument: str) -> BenchModel:
    if argument:
        raise OvmerError(f"model spec 'clues' takes no argument, got 'clues:{argument}'")
    return ClueModel()


def _affectgpt(argument: str) -> BenchModel:
    model, _, query = argument.partition("?")
    if not model:
        raise OvmerError(
            "model spec 'affectgpt:' needs a model: affectgpt:<model folder | HF id | file.pth?config=affectgpt-face>"
        )
    return AffectGPTModel(model, AffectGPTOptions.parse(query))


#: spec prefix → factory(argument after the colon).
MODEL_FACTORIES: dict[str, Callable[[str], BenchModel]] = {"clues": _clues, "affectgpt": _affectgpt}


def load_model(spec: str) -> BenchModel:
    """Build a model from ``PREFIX`` or ``PREFIX:ARGUMENT`` (see :data:`MODEL_FACTORIES`)."""
    prefix, _, argument = spec.partition(":")
    factory = MODEL_FACTORIES.get(prefix)
    if factory is None:
        raise OvmerError(f"unknown model spec {spec!r}; known: {', '.join(sorted(MODEL_FACTORIES))}")
    return factory(argument)
