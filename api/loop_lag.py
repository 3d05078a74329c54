"""The event loop's lag, measured all the time: how much later than asked a short sleep wakes up.
Every request of the process waits on the loop, so its lag is added to every answer; a blocking
call on the loop (a database lock, a long serialization) shows here first.

    netprov_api_event_loop_lag_seconds (histogram, GET /metrics)

bench/ reads the histogram before and after a load and reports its p99 (issue 17: under 10 ms).
"""

import asyncio
import time

from prometheus_client import Histogram

from api.metrics import REGISTRY

# Sleep asked of the loop between two probes: often enough for a p99 over a minute, cheap enough to
# cost nothing measurable (50 wake-ups a second).
PROBE_INTERVAL_S = 0.02
BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

LAG = Histogram(
    "netprov_api_event_loop_lag_seconds", "How much later than asked a sleep on the API's event loop woke up",
    registry=REGISTRY, buckets=BUCKETS,
)


async def probe_forever() -> None:
    """Until cancelled: sleep PROBE_INTERVAL_S, record the overshoot."""
    while True:
        asked = time.perf_counter() + PROBE_INTERVAL_S
        await asyncio.sleep(PROBE_INTERVAL_S)
        LAG.observe(max(0.0, time.perf_counter() - asked))
