"""What a model must offer to be run by ovmer: one small protocol every model plugs into.

The batched runner (:func:`ovmer.inference.runner.run_answers`) calls :meth:`AnswerModel.load`
for each sample in worker threads (decoding the next batch while the model answers this one), then
:meth:`AnswerModel.answer_batch` once per batch. Models are built from a spec by the one table in
:mod:`ovmer.inference.model_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ovmer.data.registry import Sample
from ovmer.results.record import AnswerRecord


@runtime_checkable
class AnswerModel(Protocol):
    """A model that answers samples in batches.

    Attributes:
        identity: the model and every setting that changes its answers; recorded with each answer
            and the guard that stops one results folder from mixing two models.
        batch_size: samples per :meth:`answer_batch` call.
    """

    identity: str
    batch_size: int

    def load(self, sample: Sample) -> Any:
        """The CPU work for one sample (media decoding); raises an error naming the file when the
        sample is bad. Runs in worker threads, so it must be thread-safe."""
        ...

    def answer_batch(self, items: Sequence[Any]) -> list[AnswerRecord | Exception]:
        """One record per loaded item (in order), or the error that item raised; the runner fills in
        ``name``, ``model``, ``dataset`` and ``task``."""
        ...

    def close(self) -> None:
        """Free what the model holds (detectors, GPU memory)."""
        ...
