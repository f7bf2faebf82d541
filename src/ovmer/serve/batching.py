"""Micro-batching: a bounded queue in front of the model's ``answer_batch``.

Requests wait in an :class:`asyncio.Queue` of ``max_queue`` places; one worker task takes the first
waiting job and up to ``batch_size - 1`` more that are already waiting, and answers them with one
``answer_batch`` call in a thread (a GPU model answers several requests for the price of about one,
and the event loop keeps accepting and refusing requests meanwhile). A full queue is refused at once
(429 with ``Retry-After``), so overload costs the client a round trip, not a timeout.

Shapes: a job holds one loaded-later item (a :class:`~ovmer.data.registry.Sample`); ``answer_batch``
gets ``B <= batch_size`` loaded items and returns ``B`` records or errors, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovmer.errors import ServeError
from ovmer.inference.protocol import AnswerModel
from ovmer.results.record import AnswerRecord

#: Weight of the newest batch in the running mean of batch time (used for ``Retry-After``).
_EWMA_WEIGHT = 0.2


@dataclass
class BatchInfo:
    """How a request was answered: requests in its batch and seconds spent waiting and answering."""

    batch_requests: int = 0
    queue_s: float = 0.0
    answer_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_requests": self.batch_requests,
            "queue_s": round(self.queue_s, 4),
            "answer_s": round(self.answer_s, 4),
        }


@dataclass
class Job:
    """One request's item on its way through the queue; ``on_finish`` runs once, when the model is
    done with the item (or skips it), whatever happened to the request meanwhile."""

    item: Any
    future: asyncio.Future[AnswerRecord]
    on_finish: Callable[[], None]
    enqueued: float = field(default_factory=time.perf_counter)
    info: BatchInfo = field(default_factory=BatchInfo)


@dataclass
class BatcherStats:
    """Counters for ``/v1/models`` and the load benchmark."""

    batches: int = 0
    answered: int = 0
    refused: int = 0
    largest_batch: int = 0
    mean_batch_s: float = 0.0


class MicroBatcher:
    """The bounded queue and its single worker (start it inside the running event loop)."""

    def __init__(self, model: AnswerModel, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        self.model = model
        self.max_queue = max_queue
        self.queue: asyncio.Queue[Job] = asyncio.Queue(max_queue)
        self.stats = BatcherStats()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="ovmer-serve-batcher")

    async def stop(self) -> None:
        """Stop the worker and fail every job still waiting (their folders are released)."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while not self.queue.empty():
            job = self.queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(ServeError(503, "shutting_down", "the server is shutting down"))
            job.on_finish()

    def retry_after_s(self) -> int:
        """Seconds until a place is likely free: the queue's batches at the mean batch time (≥ 1)."""
        batches = math.ceil(self.queue.qsize() / max(1, self.model.batch_size))
        return max(1, math.ceil(batches * self.stats.mean_batch_s))

    def submit(self, item: Any, on_finish: Callable[[], None]) -> Job:
        """Queue ``item`` or refuse it with 429 ``queue_full`` when every place is taken."""
        job = Job(item, asyncio.get_running_loop().create_future(), on_finish)
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.stats.refused += 1
            raise ServeError(
                429,
                "queue_full",
                f"the server is busy: {self.max_queue} request(s) are already waiting (--max-queue); "
                "try again after the Retry-After seconds",
                retry_after=self.retry_after_s(),
            ) from None
        return job

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.model.batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            live = [job for job in batch if not job.future.done()]  # timed-out requests are skipped
            for job in batch:
                if job.future.done():
                    job.on_finish()
            if live:
                await self._answer(live)

    async def _answer(self, jobs: list[Job]) -> None:
        start = time.perf_counter()
        try:
            results = await asyncio.to_thread(load_and_answer, self.model, [job.item for job in jobs])
        except Exception as exc:  # the whole batch failed: every request gets the error
            results = [exc] * len(jobs)
        elapsed = time.perf_counter() - start
        self._record(len(jobs), elapsed)
        for job, result in zip(jobs, results, strict=True):
            job.info = BatchInfo(len(jobs), start - job.enqueued, elapsed)
            if not job.future.done():
                if isinstance(result, Exception):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            job.on_finish()

    def _record(self, size: int, elapsed: float) -> None:
        stats = self.stats
        stats.batches += 1
        stats.answered += size
        stats.largest_batch = max(stats.largest_batch, size)
        first = stats.batches == 1
        stats.mean_batch_s = (
            elapsed if first else (1 - _EWMA_WEIGHT) * stats.mean_batch_s + _EWMA_WEIGHT * elapsed
        )


def load_and_answer(model: AnswerModel, items: Sequence[Any]) -> list[AnswerRecord | Exception]:
    """``model.load`` each item, then one ``answer_batch`` over those that loaded; one record or
    error per item, in order (what the batched runner does for one batch, without the files)."""
    results: list[AnswerRecord | Exception | None] = [None] * len(items)
    loaded: list[Any] = []
    where: list[int] = []
    for i, item in enumerate(items):
        try:
            loaded.append(model.load(item))
            where.append(i)
        except Exception as exc:  # one bad clip fails its own request only
            results[i] = exc
    if loaded:
        for i, answer in zip(where, model.answer_batch(loaded), strict=True):
            results[i] = answer
    return [r if r is not None else RuntimeError("the model returned no answer") for r in results]
