"""``--ray``: ``prepare``, ``infer`` and ``bench`` as Ray Data pipelines on a local or remote cluster.

The cluster does the work; the files are written by the same code a local run uses, so a run with
``--ray`` and one without give the same folders (and resume each other):

- answers (``infer``, ``bench``, any :class:`~ovmer.inference.protocol.AnswerModel`):
  :func:`run_answers_on_ray` plans the batches as :func:`ovmer.inference.runner.run_answers` does,
  runs them as a Ray Data pipeline (decode in CPU tasks → the model in actors, one load per actor)
  and hands each batch's outcomes back to the runner in the local order (:mod:`.answers`);
- ``prepare``: :func:`ray_prepare_executor` runs :func:`ovmer.data.prepare.prepare_sample` in Ray
  actors (each writes its samples into the shared cache atomically) (:mod:`.prepare`).

``ray`` is imported inside functions only: the core install does not need it (``pip install
'ovmer[ray]'``). Capacity planning and launch commands: docs/scale.md.
"""

from __future__ import annotations

from ovmer.cluster.answers import RayAnswerModel, run_answers_on_ray
from ovmer.cluster.connect import ray_connection
from ovmer.cluster.prepare import ray_prepare_executor
from ovmer.cluster.recipe import AffectGPTRecipe, ModelRecipe, SpecRecipe

__all__ = [
    "AffectGPTRecipe",
    "ModelRecipe",
    "RayAnswerModel",
    "SpecRecipe",
    "ray_connection",
    "ray_prepare_executor",
    "run_answers_on_ray",
]
