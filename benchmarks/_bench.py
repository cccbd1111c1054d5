"""Timing helpers shared by the benchmark modules (imported as `_bench`; pytest puts benchmarks/ on sys.path)."""
from __future__ import annotations

import os
import statistics
import time


def bench_rounds(default: int = 3) -> int:
    """Timed rounds per side ($BENCH_ROUNDS overrides); each side's best round is compared."""
    return max(1, int(os.environ.get("BENCH_ROUNDS", default)))


class Stopwatch:
    """Wall times of repeated calls of one function, by time.perf_counter."""

    def __init__(self, fn):
        self.fn, self.times, self.result = fn, [], None

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        self.result = self.fn(*args, **kwargs)
        self.times.append(time.perf_counter() - start)
        return self.result

    def as_setup(self, *args, **kwargs):
        """A pytest-benchmark `setup` callable: one (timed here, untimed there) call per round, returns None."""

        def setup() -> None:
            self(*args, **kwargs)

        return setup

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def report(benchmark, title: str, **info) -> None:
    """Store the numbers with the benchmark's JSON record and print them (visible with -s, or on failure)."""
    def tidy(value):
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, (list, tuple)):
            return [tidy(v) for v in value]
        return value

    rounded = {k: tidy(v) for k, v in info.items()}
    benchmark.extra_info.update(rounded)
    print(f"\n[{title}] " + ", ".join(f"{k}={v}" for k, v in rounded.items()))
