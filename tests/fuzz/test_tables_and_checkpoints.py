"""Fuzz the emotion-wheel spreadsheets, official ``.pth`` checkpoints and training state files."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import torch
from hypothesis import given
from hypothesis import strategies as st

from ovmer.labels.wheel import read_synonym_runs, read_wheel
from ovmer.models.checkpoint import official_model_state, read_official_checkpoint
from ovmer.train.checkpointing import load_rng_state, load_training_state, rng_state
from tests.fuzz.conftest import FUZZ, mutated, plain_data, reads_or_refuses

SHEET_COLUMNS = ("level1", "level2", "level3", "word_run1", "synonym_run1", "word_run2", "x")
sheet_cells = (
    st.none()
    | st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=10)
    | st.integers(-5, 5)
    | st.floats(allow_nan=True)
)


@st.composite
def spreadsheets(draw: st.DrawFn) -> bytes:
    columns = draw(st.lists(st.sampled_from(SHEET_COLUMNS), min_size=1, max_size=4, unique=True))
    rows = draw(st.lists(st.lists(sheet_cells, min_size=len(columns), max_size=len(columns)), max_size=4))
    stream = io.BytesIO()
    pd.DataFrame(rows, columns=columns).to_excel(stream, index=False, engine="openpyxl")
    return stream.getvalue()


def _valid_wheel() -> bytes:
    stream = io.BytesIO()
    frame = pd.DataFrame({"level1": ["joy", None], "level2": ["happy", None], "level3": ["glad", "merry"]})
    frame.to_excel(stream, index=False, engine="openpyxl")
    return stream.getvalue()


@FUZZ
@given(data=st.binary(max_size=512) | spreadsheets() | mutated(_valid_wheel()))
def test_wheel_and_synonym_spreadsheets(data: bytes, scratch: Path) -> None:
    path = scratch / "wheel1.xlsx"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_wheel(path))
    reads_or_refuses(lambda: read_synonym_runs(path, {"joy", "happy", "glad"}))


tensors = st.builds(
    lambda shape, dtype: torch.zeros(shape, dtype=dtype),
    st.lists(st.integers(0, 3), max_size=3),
    st.sampled_from([torch.float32, torch.float16, torch.int64, torch.uint8, torch.bool]),
)
torch_content = st.recursive(
    plain_data | tensors,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["model", "optimizer", "step", "epoch", "scheduler", "llama_proj.weight", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=8,
)


def _saved(content: object) -> bytes:
    stream = io.BytesIO()
    torch.save(content, stream)
    return stream.getvalue()


def _valid_checkpoint() -> bytes:
    return _saved({"model": {"llama_proj.weight": torch.zeros(2, 2)}, "epoch": 1, "optimizer": None})


torch_files = st.binary(max_size=512) | torch_content.map(_saved) | mutated(_valid_checkpoint())


@FUZZ
@given(data=torch_files)
def test_official_checkpoints(data: bytes, scratch: Path) -> None:
    path = scratch / "checkpoint_000001_loss_0.500.pth"
    path.write_bytes(data)
    checkpoint = reads_or_refuses(lambda: read_official_checkpoint(path))
    if checkpoint is not None:
        reads_or_refuses(lambda: official_model_state(checkpoint, str(path)))


@FUZZ
@given(data=torch_files | mutated(_saved(rng_state())))
def test_training_state_files(data: bytes, scratch: Path) -> None:
    path = scratch / "training_state.pt"
    path.write_bytes(data)
    reads_or_refuses(lambda: load_training_state(path, required=("optimizer", "scheduler", "step")))
    reads_or_refuses(lambda: load_rng_state(path))
