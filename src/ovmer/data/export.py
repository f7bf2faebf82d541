"""Write a dataset's sample list as a manifest: Parquet, JSONL, or a Hugging Face ``datasets`` folder.

Why: downstream tools (training loaders, notebooks, ``datasets``) should not need ovmer's readers or pickle
(docs/datasets.md, 'Upstream file facts'). Columns: ``dataset, split, name, video, audio, face, subtitle,
label, description`` (paths absolute; ``label`` is a string for discrete/OV sets, a float for sentiment sets).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ovmer.atomic import atomic_open
from ovmer.data.registry import Sample
from ovmer.errors import DatasetError

FORMATS = ("parquet", "jsonl", "hf")


def samples_frame(samples: Sequence[Sample], dataset: str) -> pd.DataFrame:
    """One row per sample, in order."""
    rows = [{"dataset": dataset, **s.to_record()} for s in samples]
    columns = ["dataset", "split", "name", "video", "audio", "face", "subtitle", "label", "description"]
    return pd.DataFrame(rows, columns=columns)


def export_samples(samples: Sequence[Sample], dataset: str, out: str | os.PathLike[str], fmt: str) -> Path:
    """Write ``samples`` to ``out`` in ``fmt`` (``parquet``, ``jsonl`` or ``hf``) atomically; returns ``out``.

    Raises:
        DatasetError: unknown format, or the optional library for it is not installed.
    """
    out = Path(out)
    frame = samples_frame(samples, dataset)
    if fmt == "jsonl":
        with atomic_open(out) as handle:
            for record in frame.to_dict(orient="records"):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return out
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise DatasetError("Parquet export needs pyarrow: pip install 'ovmer[data]'") from exc
        with atomic_open(out, "wb") as handle:
            frame.to_parquet(handle, index=False)
        return out
    if fmt == "hf":
        try:
            import datasets
        except ImportError as exc:
            raise DatasetError(
                "Hugging Face export needs the 'datasets' package (pip install datasets); "
                "use --format parquet otherwise (datasets.load_dataset('parquet', ...) reads it)"
            ) from exc
        tmp = out.with_name(f".{out.name}.tmp")
        datasets.Dataset.from_pandas(frame, preserve_index=False).save_to_disk(os.fspath(tmp))
        if out.exists():
            import shutil

            shutil.rmtree(out)
        tmp.rename(out)
        return out
    raise DatasetError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
