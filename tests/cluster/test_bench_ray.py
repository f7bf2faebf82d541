"""``ovmer bench --model clues --ray`` on a real two-node cluster: the run folder of a local run,
resume, a failing sample recorded, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.cluster.conftest import mer_tree
from tests.cluster.local_cluster import LocalRayCluster

pytestmark = pytest.mark.slow

#: Files of a bench run folder that hold no measured time: equal byte for byte.
EXACT_FILES = [
    "samples.jsonl",
    "mer2023/predictions.jsonl",
    "mer2023/failures.json",
    "mer2023/errors.jsonl",
    "mer2023/official/clues.npz",
]


def _bench(root: Path, out: Path, wheel_dir: Path, *extra: str) -> list[str]:
    return [
        "bench", "--model", "clues", "--datasets", "mer2023", "--root", str(root), "--out", str(out),
        "--assets", str(wheel_dir), *extra,
    ]  # fmt: skip


def _answers(path: Path) -> list[dict[str, object]]:
    """The answer lines in file order, without ``timings`` (seconds measured on each run)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row.pop("timings", None)
    return rows


def _results(out: Path) -> dict[str, object]:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results.pop("command")  # it names --out
    for run in results["datasets"].values():  # type: ignore[attr-defined]
        run.pop("seconds")  # wall time by stage, measured on each run
    return results


def test_bench_on_ray_writes_the_local_run_folder_and_resumes(
    ray_cluster: LocalRayCluster, clip_and_wav: tuple[Path, Path], wheel_dir: Path, tmp_path: Path
) -> None:
    names = mer_tree(tmp_path / "data", clip_and_wav, n_test=5)
    local, ray = tmp_path / "local", tmp_path / "ray"
    for out, extra in ((local, ()), (ray, ("--ray", ray_cluster.address))):
        first = CliRunner().invoke(app, _bench(tmp_path / "data", out, wheel_dir, "--limit", "2", *extra))
        assert first.exit_code == 0, first.output
        second = CliRunner().invoke(app, _bench(tmp_path / "data", out, wheel_dir, *extra))
        assert second.exit_code == 3, second.output  # the sample without a clip failed (docs/cli.md)
        done = json.loads((out / "results.json").read_text())["datasets"]["mer2023"]
        assert done["answered"] == 4 and done["inferred_now"] == 2, done  # resumed: 2 were done
    for name in EXACT_FILES:
        assert (ray / name).read_bytes() == (local / name).read_bytes(), name
    assert _answers(ray / "mer2023/answers.jsonl") == _answers(local / "mer2023/answers.jsonl")
    assert _results(ray) == _results(local)
    errors = [json.loads(line) for line in (ray / "mer2023/errors.jsonl").read_text().splitlines()]
    assert [e["name"] for e in errors] == [names[-1]] and "video not found" in errors[0]["error"]


def _worker_pids(cluster: LocalRayCluster) -> list[int]:
    return cluster.worker_pids("_AnswerBatches")


def test_a_killed_model_actor_is_retried_and_nothing_is_lost_or_doubled(
    ray_cluster: LocalRayCluster, clip_and_wav: tuple[Path, Path], wheel_dir: Path, tmp_path: Path
) -> None:
    names = mer_tree(tmp_path / "data", clip_and_wav, n_test=10)
    out = tmp_path / "ray"
    answers = out / "mer2023" / "answers.jsonl"
    command = [
        sys.executable,
        "-m",
        "ovmer",
        *_bench(tmp_path / "data", out, wheel_dir, "--ray", ray_cluster.address),
    ]
    env = {**os.environ, **ray_cluster.client_env()}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killed: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and not killed:
            lines = answers.read_text().count("\n") if answers.is_file() else 0
            if 1 <= lines < 9:  # mid-run: some answers written, most still to come
                killed = _worker_pids(ray_cluster)
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        assert killed, "no model actor was found mid-run"
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 3, output.decode(errors="replace")[-3000:]  # one sample has no clip
    written = [row["name"] for row in _answers(answers)]
    assert sorted(written) == sorted(names[:-1]), "every answer once, none lost"
    local = tmp_path / "local"
    result = CliRunner().invoke(app, _bench(tmp_path / "data", local, wheel_dir))
    assert result.exit_code == 3, result.output
    assert _answers(answers) == _answers(local / "mer2023" / "answers.jsonl")
    for name in EXACT_FILES:
        assert (out / name).read_bytes() == (local / name).read_bytes(), name
