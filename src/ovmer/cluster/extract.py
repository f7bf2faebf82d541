"""Label extraction on a Ray cluster: an LLM extractor in GPU actors, behind the one extractor interface.

``bench --ray --extractor hf:ID`` (or ``vllm:ID``) would otherwise load the LLM on the driver. A
:class:`RayExtractor` is a :class:`~ovmer.llm.extractor.LabelExtractor` whose calls go through a Ray
Data actor pool instead: each actor builds the extractor once from its spec
(:func:`ovmer.llm.run.build_extractor`), the texts travel in chunks, and the outcomes come back in
input order, so :func:`ovmer.bench.runner.extract` and everything after it are unchanged. The
lexicon (thousands of answers per second on one core) and ``openai:``/``cache:`` extractors (the
server or the cache does the work) stay on the driver (:func:`extractor_for_cluster`).

An actor's reply cache is the one of its node (``OVMER_CACHE_DIR``): point it at shared storage so
a rerun finds the replies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.cluster.connect import quiet_ray_data, remote_result
from ovmer.cluster.transport import in_order, pack, unpack
from ovmer.errors import ClusterError, SampleFailedError
from ovmer.llm.extractor import LabelExtractor, Outcome, ProgressCallback
from ovmer.llm.run import build_extractor

#: Extractor specs whose model runs in the extracting process (so in GPU actors on a cluster).
IN_PROCESS_LLM_PREFIXES = ("hf:", "vllm:")
#: Texts per actor call: a few of the LLM extractor's own chunks (32), so progress moves.
TEXTS_PER_CALL = 128


@dataclass(frozen=True)
class ExtractorRecipe:
    """What an actor needs to build the extractor: ``build_extractor``'s spec and options."""

    spec: str
    decoding: str = "deterministic"
    assets: str | None = None
    num_gpus: float | None = None  # None: one where the cluster has GPUs

    def build(self) -> LabelExtractor:
        return build_extractor(
            self.spec, decoding=self.decoding, assets=None if self.assets is None else Path(self.assets)
        )


def _outcome(value: Outcome) -> Outcome:
    # str(failure) is what bench records ("step A: <message>"): keep the message as it was.
    return SampleFailedError(str(value)) if isinstance(value, Exception) else value


class _ExtractChunks:
    """A Ray actor holding one extractor; one chunk of one task per row."""

    def __init__(self, recipe: ExtractorRecipe) -> None:
        self.extractor = recipe.build()

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        results = []
        for task, data in zip(rows["task"], rows["args"], strict=True):
            columns = unpack(data)
            outcomes = getattr(self.extractor, str(task))(*columns)
            results.append(pack([_outcome(o) for o in outcomes]))
        return {"chunk": rows["chunk"], "outcomes": results}


def _metadata(recipe: ExtractorRecipe) -> tuple[str, dict[str, Any]]:
    extractor = recipe.build()
    return extractor.identity, extractor.metadata()


class RayExtractor:
    """A :class:`~ovmer.llm.extractor.LabelExtractor` answering through Ray actors (module docstring).

    Needs a connection (:func:`~ovmer.cluster.connect.ray_connection`) when first used; the extractor
    is built once on a worker to read its identity and metadata, then once per actor per call.
    """

    def __init__(self, recipe: ExtractorRecipe, *, actors: int | None = None) -> None:
        self.recipe = recipe
        self.actors = actors
        self._described: tuple[str, dict[str, Any]] | None = None

    def _gpus(self) -> tuple[float, int]:
        import ray

        gpus = ray.cluster_resources().get("GPU", 0)
        per_actor = float(self.recipe.num_gpus if self.recipe.num_gpus is not None else (1 if gpus else 0))
        if per_actor > gpus:
            raise ClusterError(f"the extractor asks for {per_actor} GPU(s) per actor; the cluster has {gpus}")
        capacity = gpus / per_actor if per_actor else ray.cluster_resources().get("CPU", 1)
        return per_actor, max(1, int(self.actors or capacity))

    def _describe(self) -> tuple[str, dict[str, Any]]:
        if self._described is None:
            import ray

            per_actor, _ = self._gpus()
            remote = ray.remote(num_cpus=1, num_gpus=per_actor, max_retries=3)(_metadata)
            self._described = remote_result(ray, remote.remote(self.recipe))
        return self._described

    @property
    def identity(self) -> str:
        return self._describe()[0]

    @identity.setter
    def identity(self, value: str) -> None:
        raise AttributeError("a RayExtractor's identity is its extractor's")

    def metadata(self) -> dict[str, Any]:
        return dict(self._describe()[1])

    def ovlabels(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        return self._run("ovlabels", [list(texts)], progress)

    def sentiment(self, ov_lists: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        return self._run("sentiment", [list(ov_lists)], progress)

    def merge(
        self, clues: Sequence[str], subtitles: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[Outcome]:
        return self._run("merge", [list(clues), list(subtitles)], progress)

    def _run(self, task: str, columns: list[list[str]], progress: ProgressCallback | None) -> list[Outcome]:
        """One outcome per input, in input order."""
        total = len(columns[0])
        results: list[Outcome] = []
        for outcomes in self._chunks(task, columns, total):
            results += outcomes
            if progress is not None:
                progress(len(outcomes))
        if len(results) != total:
            raise ClusterError(f"{task}: the cluster returned {len(results)} of {total} outcomes")
        return results

    def _chunks(self, task: str, columns: list[list[str]], total: int) -> Iterator[list[Outcome]]:
        import ray.data

        if total == 0:
            return
        quiet_ray_data(ray)
        per_actor, actors = self._gpus()
        starts = range(0, total, TEXTS_PER_CALL)
        rows = [
            {"chunk": i, "task": task, "args": pack([c[s : s + TEXTS_PER_CALL] for c in columns])}
            for i, s in enumerate(starts)
        ]
        dataset: Any = ray.data.from_items(rows, override_num_blocks=min(len(rows), 1000))
        dataset = dataset.map_batches(
            _ExtractChunks,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=1,
            num_gpus=per_actor,
            fn_constructor_kwargs={"recipe": self.recipe},
        )
        yield from in_order(dataset.iter_rows(), "chunk", lambda row: unpack(row["outcomes"]), len(rows))


def extractor_for_cluster(
    spec: str, *, decoding: str = "deterministic", assets: Path | None = None
) -> LabelExtractor | None:
    """A :class:`RayExtractor` for specs whose LLM runs in the extracting process (``hf:``, ``vllm:``);
    None for the others, which stay on the driver."""
    if not spec.startswith(IN_PROCESS_LLM_PREFIXES):
        return None
    return RayExtractor(ExtractorRecipe(spec, decoding, None if assets is None else str(assets)))
