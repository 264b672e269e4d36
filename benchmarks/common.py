"""Shared helpers of the benchmarks: timing medians and the default run config."""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "runs" / "borexino-phase1.toml"
OUTPUT = REPO / "benchmarks" / "output"


def median_seconds(action: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time [s] of ``repeats`` calls, and all the times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times
