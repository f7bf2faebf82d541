"""Model answers on disk: the one answer record, its JSONL, upstream's official files, one reader.

- :mod:`ovmer.results.record` — :class:`AnswerRecord` and :class:`Predictions`;
- :mod:`ovmer.results.jsonl` — ovmer JSONL (read, append, write);
- :mod:`ovmer.results.official` — the official ``.npz`` layouts (read, write);
- :mod:`ovmer.results.formats` — :func:`read_predictions`, which recognises every format.
"""

from ovmer.results.formats import read_predictions, summarise
from ovmer.results.jsonl import append_records, read_records, write_records
from ovmer.results.official import official_base, official_paths, read_checkpoint, write_official
from ovmer.results.record import AnswerRecord, Predictions, as_stored_labels

__all__ = [
    "AnswerRecord",
    "Predictions",
    "append_records",
    "as_stored_labels",
    "official_base",
    "official_paths",
    "read_checkpoint",
    "read_predictions",
    "read_records",
    "summarise",
    "write_official",
    "write_records",
]
