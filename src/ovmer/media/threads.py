"""Single-threaded native libraries for ``ovmer prepare`` worker processes.

Why: with ``--workers N`` each worker process is meant to keep one core busy. Left alone, every
worker also starts helper threads of its own — OpenBLAS (numpy's BLAS, used by the audio resampler's
matrix product) starts one per core and *spins* on them between calls, FFmpeg frame threads, OpenCV's
thread pool — so two workers on two cores fight over four or more busy threads. Measured on the
2-core benchmark machine: OpenBLAS spinning alone cost ~80 ms CPU per demo clip (more than the face
detector), for a matrix product that takes ~1 ms on one thread.

:func:`single_thread_mode` is called by the worker initializer. It limits BLAS/OpenMP pools that are
already loaded (through ``threadpoolctl`` when it is installed — it is in ``requirements/constraints.txt``
via scikit-learn), sets the usual environment variables for libraries loaded later, and sets OpenCV's
pool to one thread. FFmpeg decoding threads are set per stream (``threads=1`` in workers).
MediaPipe's BlazeFace runs its TFLite/XNNPACK inference on one thread by default on Linux.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

#: Environment variables read by OpenMP/BLAS runtimes loaded after :func:`single_thread_mode`.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_LIMITER: Any = None  # keeps the threadpoolctl limit object alive for the life of the process


def single_thread_mode() -> dict[str, Any]:
    """Make this process use one thread in BLAS/OpenMP, OpenCV and libraries loaded later.

    Returns what was done (for tests and logs): ``{"env": [...], "blas": [...], "cv2": n}`` where
    ``blas`` lists the thread-pool libraries limited to 1 (empty without ``threadpoolctl``).
    """
    global _LIMITER  # per-process state, set once in a worker process
    for name in THREAD_ENV_VARS:
        os.environ[name] = "1"
    limited: list[str] = []
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the dev install
        pass
    else:
        _LIMITER = threadpool_limits(limits=1)
        limited = [f"{info['internal_api']}={info['num_threads']}" for info in threadpool_info()]
    cv2_threads = -1
    try:
        import cv2
    except ImportError:  # pragma: no cover - depends on the install
        pass
    else:
        cv2.setNumThreads(1)
        cv2_threads = cv2.getNumThreads()
    return {"env": list(THREAD_ENV_VARS), "blas": limited, "cv2": cv2_threads}


def blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    """Context manager: BLAS on one thread inside the block, the previous setting restored after.

    Used around ``prepare --workers 1`` (in the caller's process): the only BLAS call is a ~1 ms matrix
    product per clip, and OpenBLAS's spinning helper threads cost far more CPU than they save.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the dev install
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
