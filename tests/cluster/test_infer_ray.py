"""``ovmer infer --ray`` with a tiny random-weight AffectGPT: decoding in Ray CPU tasks, the model in
an actor, the folder and official npz of a local run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.cluster.local_cluster import LocalRayCluster

pytestmark = pytest.mark.slow
pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_frame_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.models.helpers import cached_tiny

    return cached_tiny(tmp_path_factory, "frame", 0)


def _run_json(path: Path) -> dict[str, object]:
    run = json.loads(path.read_text())
    run.pop("last_call_seconds")
    return run


def test_infer_on_ray_writes_the_local_folder_and_npz(
    ray_cluster: LocalRayCluster, tiny_frame_dir: Path, tmp_path: Path
) -> None:
    from tests.models.helpers import write_clip

    rows = ["name,video,subtitle"]
    for i in range(4):
        write_clip(tmp_path / f"s{i}.mp4", [((i * 40) % 255, 100, 30 * j % 255) for j in range(6 + i)])
        rows.append(f"s{i},s{i}.mp4,{f'line {i}' if i % 2 else ''}")
    manifest = tmp_path / "toy.csv"
    manifest.write_text("\n".join(rows) + "\n")
    outs = {"local": tmp_path / "local", "ray": tmp_path / "ray"}
    for kind, out in outs.items():
        args = ["infer", "--dataset", f"csv:{manifest}", "--out", str(out), "--model", str(tiny_frame_dir)]
        args += ["--batch-size", "3", "--max-new-tokens", "5", "--device", "cpu"]
        result = CliRunner().invoke(app, args + (["--ray", ray_cluster.address] if kind == "ray" else []))
        assert result.exit_code == 0, result.output
    folder = Path("toy") / "ovlabels"
    local, ray = outs["local"], outs["ray"]
    assert (ray / folder / "answers.jsonl").read_bytes() == (local / folder / "answers.jsonl").read_bytes()
    assert _run_json(ray / folder / "run.json") == _run_json(local / folder / "run.json")
    npz = Path("results-toy") / tiny_frame_dir.name / "model.npz"
    assert (ray / npz).read_bytes() == (local / npz).read_bytes()
