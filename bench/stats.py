"""Summaries of samples: count, median, p99 and friends, in milliseconds."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct`-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> dict:
    """{"n", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"} of durations given in seconds."""
    if not seconds:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p90_ms": round(percentile(seconds, 90) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "mean_ms": round(sum(seconds) / len(seconds) * 1000, 2),
    }


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None
