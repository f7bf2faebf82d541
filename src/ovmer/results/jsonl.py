"""ovmer JSONL: one :class:`~ovmer.results.record.AnswerRecord` per line; the only reader and writer.

Append-only files (``infer`` and ``bench`` answers) survive crashes: each finished batch is
appended as whole lines in one write + fsync, so a crash loses at most the batch in flight, and a
torn last line is dropped (and the file repaired atomically) when the run resumes.

Every append-only JSONL file ovmer writes (answers, inference errors, training metrics and skipped
samples, feature-extraction failures) goes through :func:`append_json_lines`, which first cuts a torn
last line (:func:`truncate_torn_tail`), so a resumed run never appends onto a fragment.

Files written before the answer record existed stored the answer as ``response``; they are still
read (``response`` → ``text``) with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ovmer.atomic import atomic_open, write_text_atomic
from ovmer.errors import InputFormatError
from ovmer.results.record import AnswerRecord

logger = logging.getLogger(__name__)

_FIELDS = set(AnswerRecord.__dataclass_fields__)
_STRING_FIELDS = ("text", "sentiment", "model", "dataset", "task", "run", "checkpoint", "error")
_OBJECT_FIELDS = ("inputs", "details", "timings")


def record_from_json(obj: Any, where: str) -> AnswerRecord:
    """Validate one decoded JSON line (``where`` = ``file:line`` for messages) into a record."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        raise InputFormatError(f"{where}: each line must be an object with a non-empty string 'name'")
    obj = dict(obj)
    if "response" in obj and obj.get("text") is None:
        warnings.warn(
            f"{where}: the 'response' field is deprecated (files of ovmer infer before 0.2); read as "
            "'text'. Rewrite the file with `ovmer convert` to silence this.",
            FutureWarning,
            stacklevel=3,
        )
        obj["text"] = obj.pop("response")
    labels = obj.get("ov_labels")
    if labels is not None and not (
        isinstance(labels, str) or (isinstance(labels, list) and all(isinstance(x, str) for x in labels))
    ):
        raise InputFormatError(f"{where}: 'ov_labels' must be a string or a list of strings")
    for key in _STRING_FIELDS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise InputFormatError(f"{where}: '{key}' must be a string, got {type(obj[key]).__name__}")
    for key in _OBJECT_FIELDS:
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise InputFormatError(f"{where}: '{key}' must be an object, got {type(obj[key]).__name__}")
    unknown = set(obj) - _FIELDS
    if unknown:
        logger.debug("%s: ignoring unknown field(s) %s", where, sorted(unknown))
    return AnswerRecord(**{k: v for k, v in obj.items() if k in _FIELDS})


def read_records(path: Path, *, repair_torn_tail: bool = False) -> list[AnswerRecord]:
    """Every record of an ovmer JSONL file, in file order.

    Args:
        path: the file (missing: no records when ``repair_torn_tail``, else an error).
        repair_torn_tail: the file is an append-only run file: an incomplete last line (the process
            died mid-write) is dropped and the file rewritten atomically without it.

    Raises:
        InputFormatError: naming the file and line (not UTF-8, not JSON, not a record).
    """
    path = Path(path)
    if not path.is_file():
        if repair_torn_tail:
            return []
        raise InputFormatError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.split("\n")
    last = len(lines) if lines[-1] else len(lines) - 1
    records: list[AnswerRecord] = []
    torn = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if repair_torn_tail and number == last:
                torn = True  # only the last line may be incomplete
                continue
            hint = "; move the file away to start over" if repair_torn_tail else ""
            raise InputFormatError(f"{path}:{number}: not valid JSON ({exc.msg}){hint}") from None
        records.append(record_from_json(obj, f"{path}:{number}"))
    if repair_torn_tail and (torn or (text and not text.endswith("\n"))):
        write_text_atomic(path, "".join(_line(r) for r in records))
    return records


def _line(record: AnswerRecord) -> str:
    return json.dumps(record.to_json(), ensure_ascii=False) + "\n"


def append_records(path: Path, records: Iterable[AnswerRecord]) -> None:
    """Append whole lines in one write, then fsync (a crash can tear only this write)."""
    append_json_lines(path, (r.to_json() for r in records))


#: Bytes read at a time when looking back for the last complete line.
_TAIL_CHUNK = 1 << 16


def truncate_torn_tail(path: Path) -> bool:
    """Cut an append-only JSONL file after its last newline; True when a torn line was removed.

    A process killed inside an append leaves a last line without its newline; appending after it
    would glue the next record onto the fragment and make the file unreadable. Missing file: False.
    """
    if not Path(path).is_file():
        return False
    with open(path, "rb+") as handle:
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return False
        handle.seek(end - 1)
        if handle.read(1) == b"\n":
            return False
        keep = 0
        position = end
        while position > 0:
            start = max(0, position - _TAIL_CHUNK)
            handle.seek(start)
            newline = handle.read(position - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            position = start
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    logger.warning("%s: dropped an incomplete last line (a run was interrupted while writing it)", path)
    return True


def append_json_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append ``rows`` as JSON lines in one write + fsync, after cutting a torn tail.

    The one appender of ovmer's run files (see the module docstring).
    """
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not payload:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    truncate_torn_tail(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The rows of an append-only JSONL run file (missing: none), after cutting a torn tail.

    Raises:
        InputFormatError: a complete line is not a JSON object (naming the file and line).
    """
    path = Path(path)
    truncate_torn_tail(path)
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputFormatError(f"{path}:{number}: each line must be a JSON object")
        rows.append(row)
    return rows


def write_records(path: Path, records: Iterable[AnswerRecord]) -> None:
    """Write records as a whole ovmer JSONL file, atomically."""
    with atomic_open(Path(path)) as handle:
        for record in records:
            handle.write(_line(record))
