"""How a Ray worker builds the model: a small picklable recipe instead of the loaded model.

A loaded model (GPU weights, detectors, open files) cannot travel to another machine; a recipe can,
and each model actor builds its own copy once (:meth:`ModelRecipe.build`). ``bench`` uses a model
spec (:class:`SpecRecipe`); ``infer`` the AffectGPT options of its command line
(:class:`AffectGPTRecipe`); any other :class:`~ovmer.inference.protocol.AnswerModel` runs through
a recipe of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ovmer.data.registry import Sample
from ovmer.inference.model_table import build_answer_model
from ovmer.inference.protocol import AnswerModel

#: Spec prefixes of models that never use a GPU (the clue engine; a remote OpenAI-compatible server):
#: their actors ask for none even on a GPU cluster.
CPU_ONLY_PREFIXES = frozenset({"clues", "openai"})


class ModelRecipe(Protocol):
    """What the cluster needs to run a model (a frozen dataclass is picklable and fits)."""

    @property
    def num_gpus(self) -> float | None:
        """GPUs each model actor holds (0: CPU only; None: one where the cluster has GPUs)."""
        ...

    def build(self) -> AnswerModel:
        """The model, built inside a Ray actor (once per actor)."""
        ...

    def loader(self) -> Callable[[Sample], Any] | None:
        """A light ``load`` for CPU tasks (decode without the model's weights), or None to load inside
        the model actor (in threads, as the local runner does)."""
        ...


@dataclass(frozen=True)
class SpecRecipe:
    """A model of :mod:`ovmer.inference.model_table` by its spec (``clues``, ``affectgpt:…``, …)."""

    spec: str
    num_gpus: float | None = None

    def __post_init__(self) -> None:
        if self.num_gpus is None and self.spec.partition(":")[0] in CPU_ONLY_PREFIXES:
            object.__setattr__(self, "num_gpus", 0.0)

    def build(self) -> AnswerModel:
        return build_answer_model(self.spec)

    def loader(self) -> Callable[[Sample], Any] | None:
        return None


@dataclass(frozen=True)
class AffectGPTRecipe:
    """``ovmer infer``'s AffectGPT: the engine options of the command line, built on the worker.

    ``fidelity`` is a :class:`ovmer.models.fidelity.Fidelity` (picklable settings, no weights).
    """

    model: str
    config: str | None
    device: str
    dtype: str
    fidelity: Any
    seed: int = 0
    max_new_tokens: int | None = None
    task: str = "ovlabels"
    batch_size: int = 8
    prepared: str | None = None
    dataset_id: str | None = None
    num_gpus: float | None = None

    def build(self) -> AnswerModel:
        from ovmer.inference.affectgpt import AffectGPTAnswerer
        from ovmer.inference.engine import load_engine

        engine = load_engine(self.model, self.config, self.device, self.dtype, fidelity=self.fidelity)
        decoding = engine.decoding_settings(
            engine.fidelity.decoding_settings(seed=self.seed, max_new_tokens=self.max_new_tokens)
        )
        return AffectGPTAnswerer(
            engine,
            task=self.task,
            decoding=decoding,
            batch_size=self.batch_size,
            strict_inputs=engine.fidelity.strict_inputs,
            prepared=self.prepared,
            dataset_id=self.dataset_id,
        )

    def loader(self) -> Callable[[Sample], Any] | None:
        """The inputs builder of the model's visual kind, read from its config without the weights
        (a Hub id without ``--config``: None, the actor loads)."""
        from ovmer.inference.sample_inputs import SampleLoader
        from ovmer.models.configuration_affectgpt import AffectGPTConfig

        if self.config is None and not Path(self.model).is_dir():
            return None
        config = AffectGPTConfig.from_pretrained(self.config or self.model)
        return SampleLoader(
            config.visual_input,
            None if self.prepared is None else os.fspath(self.prepared),
            self.dataset_id,
            strict=self.fidelity.strict_inputs,
        )
