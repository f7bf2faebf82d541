"""What travels between the driver and Ray workers: samples, loaded inputs and answers.

Samples and loaded inputs go as pickled bytes *between ovmer's own processes of one job* (Ray pickles
every argument anyway; nothing here reads a user's file). Answers come back as the JSON of their
record, so the driver writes exactly the line a local run writes.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ovmer.errors import ClusterError, SampleFailedError
from ovmer.inference.runner import describe_failure
from ovmer.results.jsonl import record_from_json
from ovmer.results.record import AnswerRecord


def pack(value: Any) -> bytes:
    """``value`` as bytes for a Ray Data column (one job's own objects only, see the module docstring)."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    """The inverse of :func:`pack`, for bytes this job packed."""
    return pickle.loads(data)


def as_failure(error: Exception) -> SampleFailedError:
    """A sample's error as a picklable failure carrying the text ``errors.jsonl`` records."""
    return error if isinstance(error, SampleFailedError) else SampleFailedError(describe_failure(error))


def outcomes_to_json(outcomes: list[AnswerRecord | Exception]) -> str:
    """One batch's outcomes: ``[{"record": {...}} | {"error": "Type: message"}, ...]``."""
    return json.dumps(
        [
            {"error": describe_failure(o)} if isinstance(o, Exception) else {"record": o.to_json()}
            for o in outcomes
        ],
        ensure_ascii=False,
    )


def outcomes_from_json(text: str) -> list[AnswerRecord | Exception]:
    """The inverse of :func:`outcomes_to_json` (failures as :class:`SampleFailedError`)."""
    return [
        SampleFailedError(item["error"]) if "error" in item else record_from_json(item["record"], "ray")
        for item in json.loads(text)
    ]


T = TypeVar("T")


def in_order(
    rows: Iterable[dict[str, Any]], key: str, value: Callable[[dict[str, Any]], T], expected: int
) -> Iterator[T]:
    """The values of Ray Data's result ``rows`` in the order of their ``key`` index (0, 1, …), each as
    soon as every earlier one has come: blocks finish in any order, and a block run twice (a retried
    task) is taken once. Raises :class:`ClusterError` when fewer than ``expected`` indices came back."""
    waiting: dict[int, T] = {}
    following = 0
    for row in rows:
        index = int(row[key])
        if index >= following and index not in waiting:
            waiting[index] = value(row)
        while following in waiting:
            yield waiting.pop(following)
            following += 1
    if following != expected:
        raise ClusterError(f"the cluster returned {following} of {expected} {key} results")
