"""The per-request folder goes when its last holder lets go, even when the request is cancelled
while the thread meant to release it is still waiting for a free worker (the leak this guards)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ovmer.serve.uploads import RequestScratch


def test_a_cancelled_request_still_runs_its_thread_and_removes_the_folder(tmp_path: Path) -> None:
    ran = threading.Event()

    async def scenario() -> RequestScratch:
        loop = asyncio.get_running_loop()
        busy = threading.Event()
        pool = ThreadPoolExecutor(max_workers=1)
        loop.set_default_executor(pool)
        blocker = loop.run_in_executor(pool, busy.wait)  # the only worker is taken
        scratch = RequestScratch(tmp_path)
        (scratch.path / "clip.mp4").write_bytes(b"x")
        request = asyncio.ensure_future(asyncio.shield(scratch.in_thread(ran.set)))
        await asyncio.sleep(0.05)
        request.cancel()  # the request times out before its thread has started
        scratch.release()  # the handler lets go
        busy.set()
        await blocker
        for _ in range(100):
            if not scratch.path.exists():
                break
            await asyncio.sleep(0.01)
        return scratch

    scratch = asyncio.run(scenario())
    assert ran.is_set() and not scratch.path.exists()
    assert list(tmp_path.iterdir()) == []
