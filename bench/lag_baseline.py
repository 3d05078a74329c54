"""The machine's own event-loop lag: an idle Python process running the API's lag probe (api/loop_lag.py: a 20 ms
sleep's overshoot) and nothing else. Started beside a load, it shows how much of the API's lag is the machine's
(a runnable process waiting for a core other processes hold), not the API's.

    python -m bench.lag_baseline --seconds 60     # prints {"n", "p50_ms", "p99_ms", ...} as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from bench.stats import summary_ms

PROBE_INTERVAL_S = 0.02  # as api/loop_lag.py


async def probe(seconds: float) -> list[float]:
    lags, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        asked = time.perf_counter() + PROBE_INTERVAL_S
        await asyncio.sleep(PROBE_INTERVAL_S)
        lags.append(max(0.0, time.perf_counter() - asked))
    return lags


async def beside(seconds: float) -> dict:
    """Run the probe in a process of its own for `seconds`; its summary (ms)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.lag_baseline", "--seconds", str(seconds), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return json.loads(out) if process.returncode == 0 and out else {"error": f"exit code {process.returncode}"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lag_baseline", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    lags = asyncio.run(probe(parser.parse_args().seconds))
    print(json.dumps(summary_ms(lags) | {"share_over_10_ms": round(sum(x > 0.01 for x in lags) / max(len(lags), 1), 4)}))


if __name__ == "__main__":
    main()
