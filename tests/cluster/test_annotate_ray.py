"""``ovmer annotate describe --ray`` on the real two-node test cluster writes what a local run writes."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.cluster.local_cluster import LocalRayCluster

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"


def _clips(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_describe_on_ray_equals_local(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    shutil.copy(DEMO, tmp_path / "demo.mp4")
    with (tmp_path / "clips.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows(
            [
                ["name", "video", "subtitle"],
                ["demo", "demo.mp4", "I am so happy!"],
                ["gone", "gone.mp4", "Hi."],
            ]
        )
    outs = {"local": tmp_path / "local", "ray": tmp_path / "ray"}
    for kind, out in outs.items():
        extra = ("--ray", ray_cluster.address) if kind == "ray" else ()
        result = CliRunner().invoke(
            app, ["annotate", "describe", str(tmp_path / "clips.csv"), "--out", str(out), *extra]
        )
        assert result.exit_code == 3, result.output  # "gone" has no video: recorded, the run went on
    local, ray = _clips(outs["local"] / "clips.jsonl"), _clips(outs["ray"] / "clips.jsonl")
    assert local == ray and {row["name"] for row in local} == {"demo", "gone"}
    assert json.loads((outs["ray"] / "run.json").read_text()) == json.loads(
        (outs["local"] / "run.json").read_text()
    )
