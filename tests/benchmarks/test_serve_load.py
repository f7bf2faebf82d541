"""benchmarks/serve_load.py: the load levels and the soak run end to end against a real server (short)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(120)]
pytest.importorskip("fastapi", reason="ovmer serve needs the [serve] extra")
pytest.importorskip("mediapipe", reason="the clue engine needs the [clues] extra")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.synth import write_clip

    # no audio track: the clue engine answers in about 0.1 s (no Whisper), so levels fill quickly
    return write_clip(tmp_path_factory.mktemp("clip") / "short.mp4", seconds=1.0, audio=False)


def test_load_levels_refuse_overload_with_429_and_no_5xx(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    args = [
        "--clip",
        str(clip),
        "--max-queue",
        "1",
        "--levels",
        "1,4",
        "--duration",
        "1.5",
        "--json",
        str(out),
    ]
    run = run_script("serve_load.py", args, tmp_path, 90)
    assert "queue capacity 2" in run.stdout and "result: ok" in run.stdout
    lines = re.findall(r"^  (\d)x  clients +(\d+) .* 5xx (\d+)  errors (\d+)$", run.stdout, re.MULTILINE)
    assert [(level, clients) for level, clients, _, _ in lines] == [("1", "2"), ("4", "8")]
    report = json.loads(out.read_text())
    one, four = report["levels"]
    assert one["accepted"] > 0 and one["p99_s"] >= one["p50_s"] > 0
    assert four["refused_429"] > 0 and four["p50_429_s"] < four["p50_s"]  # overload is refused, and fast
    assert all(r["server_errors"] == r["transport_errors"] == 0 for r in report["levels"])
    assert report["server_exit"] == 0 and report["leftover_folders"] == []


def test_soak_samples_memory_and_open_files_and_leaves_no_temp_files(clip: Path, tmp_path: Path) -> None:
    # 3 s is all warm-up for memory (the 5 % bound is for the documented 10-minute soak)
    out = tmp_path / "soak.json"
    run = run_script(
        "serve_load.py",
        [
            "--clip",
            str(clip),
            "--soak",
            "3",
            "--sample-every",
            "0.5",
            "--max-rss-growth",
            "0.5",
            "--json",
            str(out),
        ],
        tmp_path,
        90,
    )
    soak = json.loads(out.read_text())["soak"]
    assert soak["samples"] >= 3 and soak["rss_end_mb"] > 0 and soak["accepted"] > 0
    assert soak["leftover_folders"] == [] and "leftover temp folders: 0" in run.stdout
    assert "result: ok" in run.stdout
