"""Bare Temporal in the shape of Rally's create_and_delete_ports (bench/rally.py): what the engine alone takes per
iteration, measured on the same dev server in the same invocation, before and after netprov's run.

One iteration: 11 workflow starts one after another (the network and its 10 ports: one write each), wait until
all 11 have completed (netprov: until no port is BUILD), then 11 more starts one after another (the 11 DELETEs,
each of which is a workflow in netprov too); timed from the first start to the answer of the last one, as the
netprov iteration is timed to the answer of its last DELETE. Every workflow is baseline (a)'s: one no-op activity
(bench/bare_workflow.py), run by `bench.bare_worker` (the central worker's settings, its own task queue).
`concurrency` iterations run at once on one client; the delete workflows are awaited at the end of the run
(outside the iteration times), so that nothing of this run is left to load the next one.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from temporalio.client import Client, WorkflowHandle

from bench.baselines import BareTemporal
from bench.bare_workflow import TASK_QUEUE, BenchNoopWorkflow
from bench.context import BenchContext
from bench.projection_watch import ProjectionWatch
from bench.sizes import SIZES
from bench.stack import BenchStack
from bench.stats import percentile, rate

# One per resource of an iteration: the network and its 10 ports.
WORKFLOWS_PER_PHASE = 11
DRAIN_TIMEOUT = 120.0


async def start_bare(stack: BenchStack) -> BareTemporal:
    """Baseline (a)'s worker on `stack`'s dev server, started and warmed as bench/baselines.py does it (the stack
    stops it)."""
    ctx = BenchContext(stack=stack, size=SIZES["smoke"], watch=ProjectionWatch(stack.database_path))
    return await BareTemporal.of(ctx)


async def _starts(client: Client, run_id: str, index: int, phase: str) -> list[WorkflowHandle]:
    handles = []
    for i in range(WORKFLOWS_PER_PHASE):
        handles.append(await client.start_workflow(
            BenchNoopWorkflow.run, i, id=f"rally-bare-{run_id}-{index}-{phase}-{i}", task_queue=TASK_QUEUE,
        ))  # fmt: skip
    return handles


async def iteration(client: Client, run_id: str, index: int, leftovers: list[WorkflowHandle]) -> dict[str, float]:
    """One iteration's duration ("total") and phases' ("create", "settle", "delete"), in seconds."""
    started = time.monotonic()
    created = await _starts(client, run_id, index, "create")
    after_create = time.monotonic()
    await asyncio.gather(*(handle.result() for handle in created))
    settled = time.monotonic()
    leftovers.extend(await _starts(client, run_id, index, "delete"))
    done = time.monotonic()
    return {"total": done - started, "create": after_create - started, "settle": settled - after_create,
            "delete": done - settled}  # fmt: skip


async def run(bare: BareTemporal, iterations: int, concurrency: int) -> dict:
    """`iterations` iterations, `concurrency` at a time: median/p90 seconds per iteration, starts/s."""
    client = bare.client
    run_id = uuid.uuid4().hex[:8]
    indices = iter(range(iterations))
    phases: list[dict[str, float]] = []
    leftovers: list[WorkflowHandle] = []

    async def runner() -> None:
        for index in indices:
            phases.append(await iteration(client, run_id, index, leftovers))

    wall = time.monotonic()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    wall = time.monotonic() - wall
    drain = time.monotonic()
    await asyncio.gather(*(handle.result() for handle in leftovers))
    drain = time.monotonic() - drain
    durations = [p["total"] for p in phases]
    starts = 2 * WORKFLOWS_PER_PHASE * iterations
    return {
        "median_s": round(percentile(durations, 50), 3),
        "p90_s": round(percentile(durations, 90), 3),
        "min_s": round(min(durations), 3),
        "max_s": round(max(durations), 3),
        "wall_s": round(wall, 3),
        "writes_per_s": rate(starts, wall),
        "iterations_s": [round(d, 3) for d in durations],
        "phase_median_s": {name: round(percentile([p[name] for p in phases], 50), 3)
                           for name in ("create", "settle", "delete")},  # fmt: skip
        "delete_workflows_drained_after_s": round(drain, 3),
    }


RUNNING = "ExecutionStatus = 'Running'"


async def running(client: Client) -> int:
    """How many workflows run on the server now (netprov's link monitor always does)."""
    return (await client.count_workflows(RUNNING)).count


async def wait_idle(client: Client, baseline: int, timeout: float = DRAIN_TIMEOUT) -> float:
    """Until no more workflows run than `baseline` (the count before netprov's run: its deprovisioning goes on after
    its last DELETE is answered, and resource runs end when idle); the seconds that took. Raises after `timeout`."""
    started = time.monotonic()
    while (count := await running(client)) > baseline:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{count - baseline} workflows still running {timeout:.0f} s after the netprov run")
        await asyncio.sleep(0.25)
    return round(time.monotonic() - started, 3)


def summary(before: dict, after: dict) -> dict:
    """Both runs' figures and the pooled median/p90 (their iterations together)."""
    pooled = before["iterations_s"] + after["iterations_s"]
    return {
        "what": "per iteration: 11 one-activity workflows started one after another, all awaited, 11 more started "
                "one after another; same dev server, same invocation, before and after the netprov run",
        "median_s": round(percentile(pooled, 50), 3),
        "p90_s": round(percentile(pooled, 90), 3),
        "writes_per_s": rate(2 * len(pooled) * WORKFLOWS_PER_PHASE, before["wall_s"] + after["wall_s"]),
        "before": before,
        "after": after,
    }
