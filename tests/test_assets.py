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
def serve() -> Iterator[object]:
    """Start an HTTP server on 127.0.0.1 for a folder; returns its base URL."""
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
    offline = runner.invoke(app, ["assets", "path"])
    assert offline.exit_code == 2 and "ovmer assets fetch" in offline.output
