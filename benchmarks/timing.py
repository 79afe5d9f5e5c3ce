"""Timing shared by the benchmark scripts (run as ``python benchmarks/<name>.py``, so they
import it as a sibling module)."""
from __future__ import annotations

import statistics
import time


def median_seconds(fn, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
