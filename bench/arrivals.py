"""Open-loop load: requests sent at a fixed rate whatever the answers, so a slow server is seen as latency (and as
a backlog), not hidden by clients that wait (issue 8's closed loop: latency = clients / throughput).

    await paced(rate, seconds, send) -> [(sent_at, outcome)]    # send(i) is started at start + i / rate

Also the API's event-loop lag, read from its Prometheus histogram before and after a load.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable

import httpx

_BUCKET = re.compile(r'^netprov_api_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)$', re.M)


async def paced(rate: float, seconds: float, send: Callable[[int], Awaitable]) -> list[tuple[float, object]]:
    """Start `send(i)` at `start + i / rate` for `seconds`; every call's (sent_at, result or exception), in order.
    A call is started on time even when earlier ones have not answered: that is what open loop means."""
    count = max(1, int(rate * seconds))
    start = time.perf_counter()
    tasks: list[tuple[float, asyncio.Task]] = []
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append((time.perf_counter(), asyncio.create_task(send(i))))
    results = []
    for sent_at, task in tasks:
        try:
            results.append((sent_at, await task))
        except Exception as error:  # noqa: BLE001 - a dropped connection is a figure, not a crash
            results.append((sent_at, error))
    return results


async def lag_buckets(api_urls: list[str]) -> dict[float, float]:
    """The cumulative counts of netprov_api_event_loop_lag_seconds, summed over the APIs {upper bound: count}."""
    total: dict[float, float] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for url in api_urls:
            text = (await http.get(f"{url}/metrics")).text
            for bound, count in _BUCKET.findall(text):
                key = math.inf if bound == "+Inf" else float(bound)
                total[key] = total.get(key, 0.0) + float(count)
    return total


def lag_summary(before: dict[float, float], after: dict[float, float]) -> dict:
    """p50/p99 (ms, interpolated within the histogram's buckets) and the share over 10 ms, of the probes taken
    between the two readings."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    n = counts[-1] if counts else 0.0
    if not n:
        return {"n": 0, "p50_ms": None, "p99_ms": None}

    def quantile(q: float) -> float:
        target, lower, below = q * n, 0.0, 0.0
        for bound, cumulative in zip(bounds, counts, strict=True):
            if cumulative >= target:
                if math.isinf(bound):
                    return lower
                share = (target - below) / (cumulative - below) if cumulative > below else 1.0
                return lower + (bound - lower) * share
            lower, below = bound, cumulative
        return lower

    over_10ms = n - next((c for b, c in zip(bounds, counts, strict=True) if b >= 0.01), n)
    return {
        "n": int(n),
        "p50_ms": round(quantile(0.5) * 1000, 2),
        "p99_ms": round(quantile(0.99) * 1000, 2),
        "share_over_10_ms": round(over_10ms / n, 4),
        "how": "API histogram netprov_api_event_loop_lag_seconds (a 20 ms sleep's overshoot, 50 probes/s), "
        "percentiles interpolated within its buckets",
    }
