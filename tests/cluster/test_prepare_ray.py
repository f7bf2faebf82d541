"""``ovmer prepare --ray`` on a real two-node cluster: the cache of a local run, failures, resume."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.cluster.local_cluster import LocalRayCluster

pytestmark = pytest.mark.slow


def _without_timings(row: dict[str, object]) -> dict[str, object]:
    row = dict(row)
    row.pop("timings", None)
    inputs = row.get("inputs")
    if isinstance(inputs, dict):
        row["inputs"] = {k: v for k, v in inputs.items() if k != "timings"}
    return row


def _content(cache: Path) -> dict[str, object]:
    """Every file of a cache (bytes; meta and manifest rows without their measured timings)."""
    out: dict[str, object] = {}
    for path in sorted(cache.rglob("*")):
        if not path.is_file() or path.name == ".lock":
            continue
        key = os.fspath(path.relative_to(cache))
        if path.name == "manifest.jsonl":
            out[key] = [_without_timings(json.loads(line)) for line in path.read_text().splitlines()]
        elif path.suffix == ".json" and path.parent.name == "meta":
            out[key] = _without_timings(json.loads(path.read_text()))
        else:
            out[key] = path.read_bytes()
    return out


def test_prepare_on_ray_writes_the_local_cache_records_failures_and_resumes(
    ray_cluster: LocalRayCluster, clip_and_wav: tuple[Path, Path], tmp_path: Path
) -> None:
    clip, wav = clip_and_wav
    lines = ["name,video,audio,subtitle"]
    for i in range(4):
        os.link(clip, tmp_path / f"c{i}.mp4")
        lines.append(f"clip_{i},c{i}.mp4,{wav if i == 0 else ''},words {i}")
    lines.append("missing,gone.mp4,,")
    manifest = tmp_path / "clips.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def prepare(out: Path, *extra: str) -> str:
        args = ["prepare", str(tmp_path), "--dataset", f"csv:{manifest}", "--out", str(out), *extra]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 3, result.output  # one sample failed (docs/cli.md)
        return result.output

    prepare(tmp_path / "local")
    output = prepare(tmp_path / "ray", "--ray", ray_cluster.address)
    assert "4 prepared" in output and "1 failed" in output, output
    assert _content(tmp_path / "ray") == _content(tmp_path / "local")
    errors = [json.loads(line) for line in (tmp_path / "ray" / "errors.jsonl").read_text().splitlines()]
    assert [e["name"] for e in errors] == ["missing"] and "not found" in errors[0]["message"]
    again = prepare(tmp_path / "ray", "--ray", ray_cluster.address)
    assert "0 prepared, 4 already cached, 1 failed" in again, again
