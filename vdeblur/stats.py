"""Latency statistics with trtexec's conventions (percentile by excluding the slowest share)."""
from __future__ import annotations

import math
from array import array


def percentile(sorted_ms: list[float], p: float) -> float:
    """trtexec's findPercentile: drop floor((1 - p/100) * n) slowest samples, take the next one."""
    n = len(sorted_ms)
    if n == 0:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError("percentile must be in [0, 100]")
    exclude = int((100 - p) * n / 100 + 1e-9)  # exact where (1 - p/100) * n rounds down wrongly
    return sorted_ms[max(n - 1 - exclude, 0)]


def median(sorted_ms: list[float]) -> float:
    n = len(sorted_ms)
    if n == 0:
        return math.nan
    m = n // 2
    return sorted_ms[m] if n % 2 else (sorted_ms[m - 1] + sorted_ms[m]) / 2


def summarize(samples_ms) -> dict:
    """min / mean / median / p90 / p95 / p99 / max / cv of a list of milliseconds."""
    s = sorted(samples_ms)
    n = len(s)
    if n == 0:
        return {"count": 0}
    mean = sum(s) / n
    var = sum((x - mean) ** 2 for x in s) / n
    return {"count": n, "min": s[0], "mean": mean, "median": median(s), "p90": percentile(s, 90),
            "p95": percentile(s, 95), "p99": percentile(s, 99), "max": s[-1],
            "cv": (math.sqrt(var) / mean) if mean > 0 else 0.0}


class Samples:
    """The last `keep` samples as 4-byte floats, oldest first when iterated. A list or deque of Python
    floats costs 32 bytes a sample: on a stream that runs for days that is the run's largest growth."""

    def __init__(self, keep: int):
        self.keep = keep
        self.values = array("f")
        self.start = 0           # where the oldest sample is once the buffer is full

    def append(self, x: float) -> None:
        if len(self.values) < self.keep:
            self.values.append(x)
        else:
            self.values[self.start] = x
            self.start = (self.start + 1) % self.keep

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        v = self.values
        return iter(v[self.start:] + v[:self.start])


class StageTimes:
    """Per-stage samples in ms, bounded so that memory stays flat on endless streams."""

    def __init__(self, stages: list[str], keep: int = 200_000):
        self.samples = {s: Samples(keep) for s in stages}

    def add(self, stage: str, ms: float) -> None:
        self.samples[stage].append(ms)

    def summary(self) -> dict:
        return {s: summarize(v) for s, v in self.samples.items()}
