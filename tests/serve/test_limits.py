"""Overload, timeouts, micro-batching and the security settings, each on a real server."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ovmer.clues.answerer import ClueAnswerer
from ovmer.serve import guards
from ovmer.serve.settings import ServeSettings
from tests.serve.conftest import live_server, wait_until_clean

pytestmark = [pytest.mark.network, pytest.mark.slow]


async def post_many(
    url: str, clip: bytes, n: int, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
        return await asyncio.gather(
            *(client.post("/v1/describe", files={"video": ("c.mp4", clip)}) for _ in range(n))
        )


def test_a_full_queue_answers_429_with_retry_after(slow_clip: Path, tmp_path: Path) -> None:
    settings = ServeSettings(max_queue=1, temp_root=tmp_path)
    with live_server(settings) as url:
        responses = asyncio.run(post_many(url, slow_clip.read_bytes(), 6))
        again = httpx.post(
            f"{url}/v1/describe", files={"video": ("c.mp4", slow_clip.read_bytes())}, timeout=60
        )
    assert again.status_code == 200  # the server recovers once the burst is over
    statuses = sorted(r.status_code for r in responses)
    # one answered and one waiting at a time (a burst may even find the first still queued)
    assert set(statuses) == {200, 429}
    refused = [r for r in responses if r.status_code == 429]
    assert all(
        r.json()["error"]["code"] == "queue_full" and int(r.headers["Retry-After"]) >= 1 for r in refused
    )
    assert wait_until_clean(tmp_path) == []


def test_a_slow_request_answers_504_and_its_upload_is_removed(short_clip: Path, tmp_path: Path) -> None:
    with live_server(ServeSettings(timeout_s=0.01, temp_root=tmp_path)) as url:
        response = httpx.post(
            f"{url}/v1/describe", files={"video": ("c.mp4", short_clip.read_bytes())}, timeout=30
        )
        assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
        assert wait_until_clean(tmp_path) == []  # once the model thread lets go of the clip


def test_waiting_requests_are_answered_in_one_batch(short_clip: Path, tmp_path: Path) -> None:
    model = ClueAnswerer()
    model.batch_size = 4  # the clue engine answers a batch clip by clip; the queue still batches
    with live_server(ServeSettings(max_queue=8, temp_root=tmp_path), model) as url:
        responses = asyncio.run(post_many(url, short_clip.read_bytes(), 5))
        stats = httpx.get(f"{url}/v1/models").json()["queue"]
    assert [r.status_code for r in responses] == [200] * 5
    assert max(r.json()["serve"]["batch_requests"] for r in responses) > 1
    assert stats["answered"] == 5 and stats["batches"] < 5 and stats["largest_batch"] > 1


def test_api_key_is_required_and_compared_in_constant_time(short_clip: Path, tmp_path: Path) -> None:
    assert "hmac.compare_digest" in inspect.getsource(guards.check_api_key)
    with live_server(ServeSettings(api_key="s3cret-key", temp_root=tmp_path)) as url:
        assert httpx.get(f"{url}/healthz").json()["api_key_required"] is True  # liveness stays open
        for headers in (
            {},
            {"Authorization": "Bearer s3cret-kez"},
            {"X-API-Key": "s"},
            {"Authorization": "Basic x"},
        ):
            response = httpx.get(f"{url}/v1/models", headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
        assert (
            httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer s3cret-key"}).status_code == 200
        )
        assert httpx.get(f"{url}/v1/models", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        unauthorised = httpx.post(f"{url}/v1/describe", files={"video": ("c.mp4", short_clip.read_bytes())})
        assert unauthorised.status_code == 401
    assert wait_until_clean(tmp_path) == []


def test_cors_is_off_unless_an_origin_is_named(tmp_path: Path) -> None:
    preflight = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    with live_server(ServeSettings(temp_root=tmp_path)) as url:
        assert (
            "access-control-allow-origin"
            not in httpx.get(f"{url}/healthz", headers={"Origin": "http://evil.example"}).headers
        )
        assert (
            "access-control-allow-origin"
            not in httpx.options(f"{url}/v1/describe", headers=preflight).headers
        )
        page = httpx.get(f"{url}/")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
    with live_server(ServeSettings(temp_root=tmp_path, cors_origins=("http://app.example",))) as url:
        allowed = httpx.get(f"{url}/healthz", headers={"Origin": "http://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://app.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_binds_loopback_by_default_and_reads_the_key_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "OVMER_TEST_KEY": ""}
    refused = subprocess.run(
        [sys.executable, "-m", "ovmer", "serve", "--api-key-env", "OVMER_TEST_KEY"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        refused.returncode == 2 and "OVMER_TEST_KEY" in refused.stderr and "Traceback" not in refused.stderr
    )
    port = _free_port()
    env = {**os.environ, "OVMER_TEST_KEY": "k-123", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ovmer", "serve", "--port", str(port), "--api-key-env", "OVMER_TEST_KEY"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health.json()["api_key_required"] is True
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}" in output and proc.returncode == 0
