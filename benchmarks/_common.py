"""What the benchmark scripts (``inference.py``, ``baselines.py``) share: the MER-UniBench size, the
synthetic clips' subtitle, a peak-RSS sampler and the best-of-N timing loop. Imported as a sibling
module (the scripts run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import torch

UNIBENCH_CLIPS = 12_799  # MER-UniBench test clips, docs/model.md
SUBTITLE = "I don't know! I, I, I don't have experience in this area."

T = TypeVar("T")


class RssPeak:
    """Peak resident memory of this process while the block runs (CPU runs), sampled every 5 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self._page

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> RssPeak:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def best_of(run: Callable[[], T], repeats: int, cuda: bool) -> tuple[float, T, int]:
    """Time ``run`` ``repeats`` times (after the caller's warm-up): the best seconds (robust to other load
    on a shared machine), the last run's result, and the peak memory in bytes (CUDA allocated, else RSS)."""
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    best = float("inf")
    result: Any = None
    with RssPeak() as rss:
        for _ in range(repeats):
            start = time.perf_counter()
            result = run()
            if cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() if cuda else rss.peak
    return best, result, peak
