"""Worker processes run their native libraries single-threaded (so ``--workers N`` scales on N cores)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ovmer.media.threads import THREAD_ENV_VARS, blas_single_thread

pytest.importorskip("cv2", reason="needs the [media] extra")

# Run in a fresh interpreter: the checks change process-wide state (environment, BLAS, OpenCV pool).
_PROBE = """
import json, os, sys
import numpy, cv2
cv2.setNumThreads(4)
from threadpoolctl import threadpool_info
{call}
print(json.dumps({{
    "blas": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
    "cv2": cv2.getNumThreads(),
    "env": {{k: os.environ.get(k) for k in {env!r}}},
}}))
"""


def _probe(call: str) -> dict[str, object]:
    pytest.importorskip("threadpoolctl")
    code = _PROBE.format(call=call, env=list(THREAD_ENV_VARS))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_single_thread_mode_limits_blas_opencv_and_env() -> None:
    state = _probe("from ovmer.media.threads import single_thread_mode; single_thread_mode()")
    assert state["blas"] and set(state["blas"]) == {1}  # type: ignore[arg-type]
    assert state["cv2"] == 1
    assert state["env"] == {name: "1" for name in THREAD_ENV_VARS}


def test_prepare_worker_initializer_sets_single_thread_mode() -> None:
    pytest.importorskip("mediapipe", reason="prepare needs the [media] extra")
    state = _probe(
        "from ovmer.data.prepare import PrepareConfig, _init_worker, _WORKER; _init_worker(PrepareConfig())\n"
        "import ovmer.data.prepare as p; assert p._WORKER is not None and p._WORKER.threads == 1"
    )
    assert set(state["blas"]) == {1}  # type: ignore[arg-type]
    assert state["cv2"] == 1


def test_blas_single_thread_restores_the_previous_setting() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # a known start above one thread
        before = blas_threads()
        assert max(before) == 2  # numpy's BLAS is loaded and was set (a single-threaded build stays at 1)
        with blas_single_thread():
            assert set(blas_threads()) == {1}
        assert blas_threads() == before
