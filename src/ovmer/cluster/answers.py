"""Any answer model over samples on a Ray cluster, with the files and guarantees of a local run.

:func:`ovmer.inference.runner.run_answers` keeps what makes a run a run: the folder guard, resume
(samples already in ``answers.jsonl`` are skipped), the batch plan (sorted by subtitle length), one
append + fsync per batch, ``errors.jsonl``, progress. Only the answering moves to the cluster, as a
Ray Data pipeline over the planned batches (one row per batch, so every batch holds the samples a
local run would put in it)::

    from_items(batches) → map_batches(load, CPU tasks)        decode: recipe.loader(), when it has one
                        → map_batches(_AnswerBatches, actors)  the model: built once per actor, GPUs
                        → iter_rows() → reorder → runner        outcomes handed back in the local order

Each finished batch comes back as one output row (the batch's shard); the driver keeps early ones
until the batches before them arrive, so the files are written in the local order, byte for byte a
local run's lines. A killed actor is restarted by Ray and its batches are run again
(``max_restarts``/``max_task_retries`` = -1: Ray Data's default for actor pools; passing them to
``map_batches`` is deprecated since 2.60, so ``tests/cluster`` kills an actor to hold it); a batch
that comes back twice is taken once. A failing sample is an outcome like an answer: recorded, the
run goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.progress import Progress

from ovmer.cluster.connect import AUTO, quiet_ray_data, ray_connection, remote_result
from ovmer.cluster.recipe import ModelRecipe
from ovmer.cluster.transport import as_failure, in_order, outcomes_from_json, outcomes_to_json, pack, unpack
from ovmer.data.registry import Sample
from ovmer.errors import ClusterError
from ovmer.inference.runner import SAMPLE_ERRORS, RunSummary, answer_loaded, run_answers
from ovmer.results.record import AnswerRecord

#: Most blocks the batch list is cut into: enough to keep every actor fed, few enough that Ray's
#: per-block bookkeeping stays small for a million-clip run.
MAX_BLOCKS = 1000


def _load_one(load: Any, sample: Sample) -> Any:
    try:
        return load(sample)
    except SAMPLE_ERRORS as exc:
        return as_failure(exc)


def _load_rows(rows: dict[str, Any], recipe: ModelRecipe) -> dict[str, Any]:
    """CPU stage: each row's samples → their loaded inputs (or failures), packed."""
    load = recipe.loader()
    assert load is not None  # the stage exists only for recipes with a loader
    try:
        items = [pack([_load_one(load, s) for s in unpack(data)]) for data in rows["samples"]]
    finally:
        close = getattr(load, "close", None)
        if callable(close):
            close()  # face detectors: one set per call, freed with it
    return {"batch": rows["batch"], "samples": rows["samples"], "items": items}


class _AnswerBatches:
    """Model stage (a Ray actor): builds the model once, answers one planned batch per row."""

    def __init__(self, recipe: ModelRecipe, workers: int = 4) -> None:
        self.model = recipe.build()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        outcomes = []
        for index, data in enumerate(rows["samples"]):
            batch: list[Sample] = unpack(data)
            if "items" in rows:
                loaded = unpack(rows["items"][index])
            else:  # no CPU stage: load here, in threads, as the local runner does
                loaded = list(self.pool.map(lambda s: _load_one(self.model.load, s), batch))
            answers = answer_loaded(self.model, loaded)
            for sample, answer in zip(batch, answers, strict=True):
                if isinstance(answer, AnswerRecord):
                    answer.name = sample.name  # the runner sets it too; a record travels with its name
            outcomes.append(outcomes_to_json(answers))
        return {"batch": rows["batch"], "outcomes": outcomes}


def _describe(recipe: ModelRecipe) -> tuple[str, int, dict[str, Any] | None]:
    """Identity, batch size and run settings of the model the actors will build (built once here)."""
    model = recipe.build()
    try:
        settings = getattr(model, "run_settings", None)
        return model.identity, model.batch_size, settings() if callable(settings) else None
    finally:
        model.close()


class RayAnswerModel:
    """The driver's side of a model that runs in Ray actors: what the runner needs to plan and guard
    (``identity``, ``batch_size``, ``run_settings``) and :meth:`answer_batches`, its batch answerer.

    Needs a connection (:func:`~ovmer.cluster.connect.ray_connection`). The model is built once on a
    worker to learn its identity, then once per actor.
    """

    def __init__(self, recipe: ModelRecipe, *, actors: int | None = None) -> None:
        import ray

        self.recipe = recipe
        gpus = ray.cluster_resources().get("GPU", 0)
        self.num_gpus = float(recipe.num_gpus if recipe.num_gpus is not None else (1 if gpus else 0))
        capacity = gpus / self.num_gpus if self.num_gpus else ray.cluster_resources().get("CPU", 1)
        self.actors = max(1, int(actors or capacity))
        if self.num_gpus > gpus:
            raise ClusterError(f"the model asks for {self.num_gpus} GPU(s) per actor; the cluster has {gpus}")
        describe = ray.remote(num_cpus=1, num_gpus=self.num_gpus, max_retries=3)(_describe)
        self.identity, self.batch_size, self.settings = remote_result(ray, describe.remote(recipe))

    def run_settings(self) -> dict[str, Any]:
        return dict(self.settings or {})

    def load(self, sample: Sample) -> Any:
        raise ClusterError("a RayAnswerModel answers through answer_batches() on the cluster")

    def answer_batch(self, items: Sequence[Any]) -> list[AnswerRecord | Exception]:
        raise ClusterError("a RayAnswerModel answers through answer_batches() on the cluster")

    def close(self) -> None:
        """Nothing held here: the actors end with their pipeline."""

    def answer_batches(self, batches: list[list[Sample]]) -> Iterator[list[AnswerRecord | Exception]]:
        """Each planned batch's outcomes, in the order of ``batches`` (see the module docstring)."""
        import ray.data

        if not batches:
            return
        quiet_ray_data(ray)
        rows = [{"batch": i, "samples": pack(batch)} for i, batch in enumerate(batches)]
        dataset: Any = ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
        if self.recipe.loader() is not None:
            dataset = dataset.map_batches(
                _load_rows, batch_size=1, num_cpus=1, fn_kwargs={"recipe": self.recipe}
            )
        dataset = dataset.map_batches(
            _AnswerBatches,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=self.actors),
            num_cpus=1,
            num_gpus=self.num_gpus,
            fn_constructor_kwargs={"recipe": self.recipe},
        )
        yield from in_order(
            dataset.iter_rows(), "batch", lambda row: outcomes_from_json(row["outcomes"]), len(batches)
        )


def run_answers_on_ray(
    recipe: ModelRecipe,
    samples: Sequence[Sample],
    folder: str | Path,
    *,
    dataset: str,
    task: str = "ovlabels",
    settings: dict[str, Any] | None = None,
    address: str = AUTO,
    actors: int | None = None,
    skip_errors: bool = True,
    show_progress: bool = True,
    progress: Progress | None = None,
) -> RunSummary:
    """:func:`~ovmer.inference.runner.run_answers` with the model on a Ray cluster: same folder,
    same files, same resume and failure records (the module docstring says how).

    Args:
        recipe: how each actor builds the model (:class:`~ovmer.cluster.recipe.SpecRecipe` for a
            model spec; any :class:`~ovmer.cluster.recipe.ModelRecipe`).
        samples, folder, dataset, task, skip_errors: as for ``run_answers``.
        settings: more settings a resume must match (default: the model's identity, as locally).
        address: ``auto`` or ``HOST:PORT`` (:func:`~ovmer.cluster.connect.ray_connection`).
        actors: most model actors (default: as many as the cluster's GPUs, or CPUs, hold).
        show_progress, progress: a bar with done/total and samples/s (or the caller's display).
    """
    with ray_connection(address):
        model = RayAnswerModel(recipe, actors=actors)
        return run_answers(
            model,
            samples,
            folder,
            dataset=dataset,
            task=task,
            settings=settings,
            skip_errors=skip_errors,
            show_progress=show_progress,
            progress=progress,
            batch_answerer=model.answer_batches,
        )
