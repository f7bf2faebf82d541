"""A real ``ovmer serve`` app on 127.0.0.1 (uvicorn in a thread), started once per test module.

The model is the real offline clue engine; clips are made by tests/synth.py or are the project's
demo clip. Every server gets its own temp folder, so tests can check that no upload is left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="ovmer serve needs the [serve] extra")
pytest.importorskip("mediapipe", reason="the clue engine needs the [clues] extra")

import uvicorn

from ovmer.clues.answerer import ClueAnswerer
from ovmer.inference.protocol import AnswerModel
from ovmer.serve.app import create_app
from ovmer.serve.settings import ServeSettings
from tests.synth import write_clip

DEMO_CLIP = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"


@contextlib.contextmanager
def live_server(settings: ServeSettings, model: AnswerModel | None = None) -> Iterator[str]:
    """Serve ``create_app(settings, model)`` on a free 127.0.0.1 port; yields the base URL and stops
    the server (and so the model) on exit."""
    app = create_app(settings, model or ClueAnswerer())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def leftover_uploads(temp_root: Path) -> list[Path]:
    """Per-request folders still on disk under a server's temp root."""
    return sorted(temp_root.glob("ovmer-serve-*"))


def wait_until_clean(temp_root: Path, timeout_s: float = 10.0) -> list[Path]:
    """Leftover folders once in-flight model work has let go of them (a timed-out request's clip
    may still be in the model thread for a moment)."""
    deadline = time.monotonic() + timeout_s
    while leftover_uploads(temp_root) and time.monotonic() < deadline:
        time.sleep(0.05)
    return leftover_uploads(temp_root)


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-s 64×48 clip without audio (no face, no speech: the clue engine's quickest real input,
    about 0.1 s; a clip with a tone would make Whisper search for words for seconds)."""
    return write_clip(tmp_path_factory.mktemp("clips") / "short.mp4", seconds=1.0, audio=False)


@pytest.fixture(scope="session")
def tone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-s clip with a 440 Hz tone: the model-input views need an audio track (send it with a
    subtitle, or Whisper searches the tone for words for seconds)."""
    return write_clip(tmp_path_factory.mktemp("clips") / "tone.mp4", seconds=1.0)


@pytest.fixture(scope="session")
def slow_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-s 128×96 clip without audio: the face mesh reads 100 frames (about 0.25 s on an idle
    core), long enough for requests to pile up in the queue and for a short --timeout to run out."""
    return write_clip(
        tmp_path_factory.mktemp("clips") / "slow.mp4", seconds=20.0, fps=10, width=128, height=96, audio=False
    )


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``); Playwright drives it, nothing is downloaded."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$OVMER_TEST_ARTIFACTS/serve`` (CI keeps them), else a temp folder."""
    root = os.environ.get("OVMER_TEST_ARTIFACTS")
    folder = Path(root) / "serve" if root else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one test module; skips without Chromium unless ``OVMER_REQUIRE_BROWSER=1``."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests need playwright ([dev] extra)"
    )
    executable = chromium_path()
    if executable is None:
        if os.environ.get("OVMER_REQUIRE_BROWSER") == "1":
            pytest.fail("OVMER_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip(
            "no chromium on PATH (apt-get install chromium); set OVMER_REQUIRE_BROWSER=1 to fail instead"
        )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"], headless=True
        )
        yield launched
        launched.close()
