"""The benchmark-smoke job: the scripts under benchmarks/ run end to end, as a user runs them.

Covered: inference.py, lexicon_extractor.py, scoring.py, train.py, baselines.py, extractor.py,
classifier.py (tiny configs) and serve_load.py (a few seconds per level) (about 2.5 min on 2 cores). Not
covered: prepare.py, face_detectors.py, ray_overhead.py and speaker_threshold.py (30–40 s each;
face_detectors has no option to shorten it) and the GPU scripts (gpu_check.sh, gpu_wheels.sh).

These tests are marked ``benchmark_smoke`` and bounded in time; ``make bench-smoke`` runs them, and
``make test`` runs them after the unit suite (which deselects them with ``-m "not benchmark_smoke"``).
Each script runs in its own process, so a script may switch global state (autograd, threads) as
scripts do, and what is asserted is what the user gets: the exit status, the printed table and the
files written, checked against figures computed here from the reference files or stated in docs/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@dataclass(frozen=True)
class ScriptRun:
    """One finished run of a benchmark script: its printed output and the wall time it took (s)."""

    stdout: str
    wall_s: float


def run_script(name: str, args: list[str], cwd: Path, timeout_s: float) -> ScriptRun:
    """Run ``benchmarks/<name>`` with this interpreter in ``cwd``; fail with its output unless it exits 0.

    The child inherits the test's environment (empty ovmer cache, offline) and never reaches the
    Hugging Face hub.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        pytest.fail(
            f"benchmarks/{name} {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return ScriptRun(done.stdout, wall)
