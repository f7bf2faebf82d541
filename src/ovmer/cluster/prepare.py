"""``ovmer prepare --ray``: the samples to do, prepared by Ray actors into the shared cache folder.

:func:`ovmer.data.prepare.prepare_dataset` keeps the lock, the settings check, resume, ``errors.jsonl``
and the manifest; this executor only runs :func:`~ovmer.data.prepare.prepare_sample` for each sample
still to do, in a Ray Data actor pool (one face detector per actor, as per pool worker locally).
Each sample is written into the cache by the actor that prepared it, atomically (the cache's own
rule: the meta file last), so the cache folder must be on storage every node mounts at the same path
(NFS, a cluster file system). A killed actor is restarted by Ray and its samples prepared again; a
sample written twice is written with the same content.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ovmer.cluster.connect import AUTO, quiet_ray_data, ray_connection
from ovmer.cluster.transport import pack, unpack
from ovmer.data.prepare import PrepareConfig, PrepareExecutor, PrepareWorker, RecordResult, prepare_sample
from ovmer.data.registry import Sample

#: Samples per actor call: small, so progress moves and a killed actor redoes little.
SAMPLES_PER_CALL = 4


class _PrepareSamples:
    """A Ray actor with one :class:`PrepareWorker` (its face detector lives as long as the actor)."""

    def __init__(self, config: PrepareConfig, out: str) -> None:
        from ovmer.media.threads import single_thread_mode

        single_thread_mode()  # one busy thread per actor, as a local pool worker (ovmer.media.threads)
        self.worker = PrepareWorker(config, threads=1)
        self.out = Path(out)

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        results = [prepare_sample(self.worker, unpack(data), self.out) for data in rows["sample"]]
        return {"result": [pack(result) for result in results]}


def ray_prepare_executor(address: str = AUTO, *, actors: int | None = None) -> PrepareExecutor:
    """An executor for :func:`ovmer.data.prepare.prepare_dataset` that runs on a Ray cluster.

    Args:
        address: ``auto`` or ``HOST:PORT`` (:func:`~ovmer.cluster.connect.ray_connection`).
        actors: most actors, one CPU each (default: the cluster's CPUs).
    """

    def execute(todo: Sequence[Sample], out: Path, config: PrepareConfig, record: RecordResult) -> None:
        if not todo:
            return
        with ray_connection(address) as ray:
            quiet_ray_data(ray)
            size = max(1, int(actors or ray.cluster_resources().get("CPU", 1)))
            rows = [{"sample": pack(sample)} for sample in todo]
            dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 1000))
            dataset = dataset.map_batches(
                _PrepareSamples,
                batch_size=SAMPLES_PER_CALL,
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=size),
                num_cpus=1,
                fn_constructor_kwargs={"config": config, "out": os.fspath(out)},
            )
            seen: set[str] = set()
            for row in dataset.iter_rows():
                name, meta, error = unpack(row["result"])
                if name not in seen:  # a retried block gives its samples again: count each once
                    seen.add(name)
                    record(name, meta, error)

    return execute
