"""Scenario 6: peak resident memory (VmHWM) of the API and the worker at 10,000 resources.

Runs last, so the peaks cover everything before it: the writes, the settle and batch runs, the reads of 10,000
ports. When fewer than 10,000 resources exist (a partial run), settled ports are seeded up to that number and
listed once with ?detail=true, the API's most memory-hungry read.
"""

from __future__ import annotations

from temporalio.client import Client

from bench.context import BenchContext
from bench.load import TenantClient, expect
from bench.probes import memory_mb
from bench.reads import seed
from bench.stack import TASK_QUEUE

RESOURCES = 10_000


async def run(ctx: BenchContext) -> dict:
    counts = ctx.watch.resource_count()
    total = counts["networks"] + counts["ports"]
    seeded = 0
    if total < RESOURCES:
        async with TenantClient(ctx.api_url, ctx.admin_token, connections=2) as api:
            seeded = RESOURCES - total
            network_id, _ = seed(ctx, api.tenant, seeded)
            expect(await api.request("GET", f"networks/{network_id}/ports?detail=true"), 200)
        counts = ctx.watch.resource_count()
    client = await Client.connect(ctx.temporal_address)
    workflows = (await client.count_workflows(f"TaskQueue = '{TASK_QUEUE}'")).count
    pids = ctx.stack.pids()
    return {
        "what": "VmHWM (peak resident set) from /proc/<pid>/status of the `python -m api` and `python -m worker` processes",
        "resources_in_database": counts,
        "seeded_here": seeded,
        "workflow_runs_by_worker": workflows,
        "api": memory_mb(pids["api"]),
        "worker": memory_mb(pids["worker"]),
        "temporal_server": memory_mb(pids["temporal"]),
    }
