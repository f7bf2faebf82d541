"""``ovmer infer --ray``: :func:`ovmer.inference.split.answer_split` with AffectGPT in Ray actors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ovmer.cluster.answers import RayAnswerModel
from ovmer.cluster.connect import AUTO, ray_connection
from ovmer.cluster.recipe import ModelRecipe
from ovmer.data.registry import Sample
from ovmer.inference.split import InferSummary, answer_split


def infer_split_on_ray(
    recipe: ModelRecipe,
    samples: Sequence[Sample],
    out: str | Path,
    *,
    dataset: str,
    task: str = "ovlabels",
    address: str = AUTO,
    actors: int | None = None,
    run_name: str = "ovmer",
    checkpoint_name: str = "model",
    skip_errors: bool = False,
    show_progress: bool = True,
) -> InferSummary:
    """The ``infer`` layout and files of a local run (the same ``run.json`` settings, so a local run
    resumes a cluster run and back), the model answering on the cluster at ``address``."""
    with ray_connection(address):
        model = RayAnswerModel(recipe, actors=actors)
        return answer_split(
            model,
            samples,
            out,
            dataset=dataset,
            task=task,
            settings=model.run_settings(),
            run_name=run_name,
            checkpoint_name=checkpoint_name,
            skip_errors=skip_errors,
            show_progress=show_progress,
            batch_answerer=model.answer_batches,
        )
