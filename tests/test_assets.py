"""Emotion-wheel assets: download from a real local HTTP server, checksums, cache, offline errors."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer import assets
from ovmer.cli.main import app
from ovmer.errors import AssetError


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Start an HTTP server on 127.0.0.1 for a folder; returns its base URL.

    Downloading is allowed while it runs: under OVMER_OFFLINE a fetch refuses even a local --url.
    """
    monkeypatch.delenv("OVMER_OFFLINE", raising=False)
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_fetch_downloads_verifies_and_caches(serve, wheel_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(wheel_dir)
    destination = assets.fetch_assets(sources=[url])
    assert destination == assets.default_asset_dir()
    assert assets.verify_assets(destination) == []
    maps = assets.load_wheel_maps()  # from the cache, no --assets needed now
    assert len(maps.format_mapping) == 7386
    again = assets.load_wheel_maps()  # second load uses the derived-table cache
    assert again.clusters == maps.clusters and again.raw_mapping.keys() == maps.raw_mapping.keys()


def test_corrupted_download_is_rejected_and_nothing_is_cached(serve, wheel_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    shutil.copytree(wheel_dir, bad)
    (bad / "wheel3.xlsx").chmod(0o644)
    (bad / "wheel3.xlsx").write_bytes(b"not the spreadsheet")
    with pytest.raises(AssetError, match=r"wheel3\.xlsx.*checksum mismatch"):
        assets.fetch_assets(sources=[serve(bad)])
    assert not (assets.default_asset_dir() / "wheel3.xlsx").exists()


def test_second_source_is_used_when_the_first_fails(serve, wheel_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    destination = assets.fetch_assets(tmp_path / "dest", sources=[serve(empty), serve(wheel_dir)])
    assert assets.verify_assets(destination) == []


def test_offline_without_cache_explains_how_to_get_the_files() -> None:
    with pytest.raises(AssetError, match="ovmer assets fetch") as info:
        assets.load_wheel_maps()
    assert "--assets" in str(info.value)


def test_user_directory_is_checked_too(wheel_dir: Path, tmp_path: Path) -> None:
    assert assets.resolve_asset_dir(wheel_dir) == wheel_dir
    partial = tmp_path / "partial"
    shutil.copytree(wheel_dir, partial)
    (partial / "format.csv").unlink()
    with pytest.raises(AssetError, match=r"format\.csv: missing"):
        assets.resolve_asset_dir(partial)


def test_cli_fetch_verify_path(serve, wheel_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    dest = tmp_path / "wheel"
    assert runner.invoke(app, ["assets", "verify", str(dest)]).exit_code == 1
    result = runner.invoke(app, ["assets", "fetch", "--dest", str(dest), "--url", serve(wheel_dir)])
    assert result.exit_code == 0, result.output
    verify = runner.invoke(app, ["assets", "verify", str(dest)])
    assert verify.exit_code == 0 and verify.output.count(" ok") == 7
    path = runner.invoke(app, ["assets", "path", "--assets", str(dest)])
    assert path.exit_code == 0 and path.output.strip() == str(dest)
    offline = runner.invoke(app, ["assets", "path"], env={"OVMER_OFFLINE": "1"})
    assert offline.exit_code == 2 and "ovmer assets fetch" in offline.output


@pytest.mark.parametrize("value", ["1", "TRUE", "True", " yes "])
def test_fetch_refuses_the_network_when_offline(
    serve, wheel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:  # type: ignore[no-untyped-def]
    url = serve(wheel_dir)
    monkeypatch.setenv("OVMER_OFFLINE", value)  # any spelling of "on" (ovmer.hub.env_flag)
    result = CliRunner().invoke(app, ["assets", "fetch", "--dest", str(tmp_path / "w"), "--url", url])
    assert result.exit_code == 2, result.output
    assert "OVMER_OFFLINE is on" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w").exists()


def test_a_corrupt_cached_file_is_named_not_called_missing(wheel_dir: Path) -> None:
    cached = assets.default_asset_dir()
    shutil.copytree(wheel_dir, cached)
    (cached / "wheel2.xlsx").chmod(0o644)
    (cached / "wheel2.xlsx").write_bytes(b"damaged")
    with pytest.raises(AssetError, match=r"wheel2\.xlsx: SHA-256 .* differs") as info:
        assets.resolve_asset_dir()
    assert "not in the cache" not in str(info.value)
