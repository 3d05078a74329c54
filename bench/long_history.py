"""A port updated 10,000 times: its workflow history stays bounded (issue 5), measured end to end.

One client sets the port's admin state DOWN, ACTIVE, DOWN, ... with one PUT each (every PUT a real change, so
every one is an operation the port's workflow applies), fire and forget, then waits until the last one is applied.
It then lists every workflow run of the port (the dev server's visibility) and reports how long the longest
history got, how many runs continued as new, and whether the port ended in the state last asked for.

    python -m bench.long_history                   # 10,000 updates, its own stack; prints one JSON document
    python -m bench.long_history --updates 1000    # smaller

Bound (workflows/resource_loop.py): a run continues as new after 100 operations (or when Temporal suggests it),
and ends when it has nothing left to do; so a run's history holds about 100 operations' events (7 to 10 each), plus
one signal for each operation accepted while it worked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from temporalio.client import Client, WorkflowExecutionStatus

from bench.load import TenantClient, expect
from bench.projection_watch import ProjectionWatch
from bench.stack import BenchStack, given_or_own
from netprov.naming import port_workflow_id

POLL_S = 0.2
PROGRESS_EVERY = 1000
REPORT_EVERY_S = 15.0


async def measure(stack: BenchStack, updates: int, timeout: float) -> dict:
    watch = ProjectionWatch(stack.database_path)
    try:
        async with TenantClient(stack.api_url, stack.admin_token) as client:
            network_id = await client.settled_network("long-history", watch)
            response = expect(await client.post_port(network_id, state="ACTIVE", headers={"Prefer": "wait=30"}), 201)
            port_id = response.json()["port"]["id"]
            path = f"networks/{network_id}/ports/{port_id}"

            started = time.perf_counter()
            state = "ACTIVE"
            for index in range(updates):
                state = "DOWN" if state == "ACTIVE" else "ACTIVE"
                expect(await client.request("PUT", path, json={"port": {"state": state}}), 204)
                if (index + 1) % PROGRESS_EVERY == 0:
                    print(f"long_history: {index + 1} updates accepted, {_applied(watch, port_id)} applied", file=sys.stderr, flush=True)
            accepted_s = time.perf_counter() - started

            deadline = time.monotonic() + timeout
            next_report = time.monotonic() + REPORT_EVERY_S
            while _pending(watch, port_id):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{_applied(watch, port_id)} of {updates + 1} operations applied after {timeout:.0f} s")
                if time.monotonic() > next_report:
                    print(f"long_history: {_applied(watch, port_id)} of {updates + 1} operations applied", file=sys.stderr, flush=True)
                    next_report += REPORT_EVERY_S
                await asyncio.sleep(POLL_S)
            settled_s = time.perf_counter() - started
            applied = _applied(watch, port_id)
            port = expect(await client.request("GET", path), 200).json()["port"]
    finally:
        watch.close()

    runs = await _runs(stack, port_workflow_id(port_id))
    histories = [run["history_length"] for run in runs]
    return {
        "updates": updates,
        "operations_applied": applied,
        "accepted_s": round(accepted_s, 1),
        "settled_s": round(settled_s, 1),
        "updates_accepted_per_s": round(updates / accepted_s, 1),
        "updates_applied_per_s": round(updates / settled_s, 1),
        "final_state_asked": state,
        "final_port": {k: port[k] for k in ("state", "status", "status_reason")},
        "final_state_ok": port["state"] == state and port["status"] == state,
        "workflow_runs": len(runs),
        "runs_continued_as_new": sum(1 for run in runs if run["status"] == "CONTINUED_AS_NEW"),
        "longest_history_events": max(histories, default=0),
        "median_history_events": sorted(histories)[len(histories) // 2] if histories else 0,
        "total_history_events": sum(histories),
    }


def _pending(watch: ProjectionWatch, port_id: str) -> bool:
    rows = watch.query("SELECT applied_seq < accepted_seq FROM ports WHERE id = ?", (port_id,))
    return bool(rows and rows[0][0])


def _applied(watch: ProjectionWatch, port_id: str) -> int:
    rows = watch.query("SELECT applied_seq FROM ports WHERE id = ?", (port_id,))
    return rows[0][0] if rows else 0


async def _runs(stack: BenchStack, workflow_id: str) -> list[dict]:
    client = await Client.connect(stack.temporal.target)
    runs = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        status = execution.status
        runs.append({
            "run_id": execution.run_id,
            "status": status.name if isinstance(status, WorkflowExecutionStatus) else str(status),
            "history_length": execution.history_length,
        })
    return runs


def run(stack: BenchStack | None = None, *, updates: int = 10_000, timeout: float = 1200.0) -> dict:
    """Measure on `stack` (started and stopped here when None); return the figures."""
    with given_or_own(stack) as stack:
        result = asyncio.run(measure(stack, updates, timeout))
    result["machine"] = {"cpus": os.cpu_count()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.long_history", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for the last update to be applied")
    args = parser.parse_args()
    print(json.dumps(run(updates=args.updates, timeout=args.timeout), indent=2))


if __name__ == "__main__":
    main()
