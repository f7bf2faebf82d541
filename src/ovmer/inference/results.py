"""Per-sample result files of ``ovmer infer``: an append-only JSONL that survives crashes, and the
official ``name2reason`` ``.npz`` (spec affectgpt-model §12.5, evaluation §9).

Why append-only: a split takes up to an hour; each finished batch is appended as whole lines with a
single write + fsync, so a crash loses at most the batch in flight. A torn last line (the process died
mid-write) is detected and dropped on resume; the ``.npz`` is written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.atomic import atomic_open, write_text_atomic
from ovmer.errors import InputFormatError


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Complete records of a results JSONL; repairs (atomically) a torn final line left by a crash."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    torn = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) or (number == len(lines) - 1 and not lines[-1]):
                torn = True  # only the last line may be incomplete
                continue
            raise InputFormatError(
                f"{path}:{number}: corrupt line; move the file away to start over"
            ) from None
        records.append(record)
    if torn or (text and not text.endswith("\n")):
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return records


def append_jsonl_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append whole lines in one write, then fsync (a crash can tear only this write)."""
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not payload:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def write_name2reason_npz(path: Path, name2reason: dict[str, str]) -> None:
    """Upstream's result file: ``savez_compressed(name2reason=dict)`` (a 0-d object array), atomically."""
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(handle, name2reason=np.array(name2reason, dtype=object))
