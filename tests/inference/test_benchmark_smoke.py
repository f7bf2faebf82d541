"""The inference benchmark runs on the tiny config and prints its command and a table."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "inference.py"


@pytest.mark.slow
def test_benchmark_tiny_cpu(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--max-batch", "2", "--new-tokens", "3", "--repeats", "1"])
    grad_was_enabled = torch.is_grad_enabled()
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    finally:  # the script switches autograd off process-wide, as a script may; later tests need it back
        torch.set_grad_enabled(grad_was_enabled)
    out = capsys.readouterr().out
    assert "command:" in out and "samples/s" in out
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0] in {"1", "2"}]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all(float(r[1]) > 0 and float(r[3]) > 0 for r in rows)
