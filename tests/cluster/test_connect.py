"""``--ray auto`` joins the cluster ``RAY_ADDRESS`` names; an address with no head fails fast, named."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.cluster import ray_connection
from tests.cluster.local_cluster import LocalRayCluster


@pytest.mark.slow
def test_auto_joins_the_cluster_ray_address_names(
    ray_cluster: LocalRayCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    with ray_connection("auto") as ray:
        assert len([node for node in ray.nodes() if node["Alive"]]) == 2
    assert not ray.is_initialized()


def test_an_address_without_a_head_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    manifest = tmp_path / "clips.csv"
    manifest.write_text("name,video\nx,x.mp4\n", encoding="utf-8")
    args = ["prepare", str(tmp_path), "--dataset", f"csv:{manifest}", "--out", str(tmp_path / "cache")]
    result = CliRunner().invoke(app, [*args, "--ray", f"127.0.0.1:{port}"])
    assert result.exit_code == 2, result.output
    assert f"no Ray head at 127.0.0.1:{port}" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_a_model_error_on_a_worker_is_the_local_one_line_error(
    ray_cluster: LocalRayCluster, wheel_dir: Path, tmp_path: Path
) -> None:
    args = ["bench", "--model", "clues:extra", "--datasets", "mer2023", "--root", str(tmp_path)]
    args += ["--out", str(tmp_path / "run"), "--assets", str(wheel_dir), "--ray", ray_cluster.address]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "model spec 'clues' takes no argument" in result.output and "Traceback" not in result.output
