"""The two baselines, measured in the same run as the scenarios.

(a) bare Temporal: N workflows, each running one no-op activity, started by a plain temporalio client on the same
    dev server, run by a worker with the central worker's settings (`bench.bare_worker`) on a task queue of its
    own. Its completed workflows/s is the engine's limit for one-workflow-per-resource provisioning.
(b) direct plugin calls: the fake plugin's calls made in this process, no API, no engine: calls/s.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from bench.bare_workflow import TASK_QUEUE, BenchNoopWorkflow
from bench.context import BenchContext
from bench.probes import cpu_seconds
from bench.stats import rate, summary_ms
from netprov.operations import PluginRequest
from netprov.settings import Settings
from plugins.fake import FakePlugin, FakeSettings

READY_TIMEOUT = 60.0
RESULT_COLLECTORS = 50


class BareTemporal:
    """Baseline (a)'s worker process (`bench.bare_worker`) and a plain client. Started once per run and left
    running, so that scenario 2 can measure it again right beside netprov (paired rounds); the stack stops it."""

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx
        self.run_id = uuid.uuid4().hex[:8]
        self.child = None
        self.client: Client | None = None
        self._count = 0

    @classmethod
    async def of(cls, ctx: BenchContext) -> BareTemporal:
        """The run's one instance, started on first use."""
        if "bare" not in ctx.results:
            bare = cls(ctx)
            await bare.start()
            ctx.results["bare"] = bare
        return ctx.results["bare"]

    async def start(self) -> None:
        self.child = self.ctx.stack.start_child("bare-worker", ["-m", "bench.bare_worker", "--task-queue", TASK_QUEUE])
        self.client = await Client.connect(self.ctx.temporal_address)
        # Ready once the worker completes a workflow; the first few also warm the server's caches for the queue.
        started = time.perf_counter()
        await asyncio.wait_for(self.one(), READY_TIMEOUT)
        self.ctx.log(f"bare worker ready after {time.perf_counter() - started:.1f} s")
        for _ in range(3):
            await self.one()

    async def one(self) -> float:
        """Run one workflow, start to result; its duration."""
        self._count += 1
        started = time.perf_counter()
        await self.client.execute_workflow(
            BenchNoopWorkflow.run, self._count, id=f"bench-bare-{self.run_id}-{self._count}", task_queue=TASK_QUEUE
        )
        return time.perf_counter() - started

    async def throughput(self, count: int, concurrency: int) -> dict:
        pids = {"temporal": self.ctx.stack.pids()["temporal"], "worker": self.child.proc.pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self._count += 1
        result = await _throughput(self.client, f"{self.run_id}-t{self._count}", count, concurrency)
        result["cpu_ms_per_workflow"] = {
            name: round((cpu_seconds(pid) - before[name]) / count * 1000, 2) for name, pid in pids.items()
        }
        return result


async def bare_temporal(ctx: BenchContext) -> dict:
    size = ctx.size
    bare = await BareTemporal.of(ctx)
    one_at_a_time = [await bare.one() for _ in range(size.one_at_a_time)]
    throughput = await bare.throughput(size.throughput_count, size.submit_concurrency)
    return {
        "what": "workflows of one no-op activity, plain temporalio client, worker with the central worker's settings",
        "one_at_a_time": summary_ms(one_at_a_time),
        **throughput,
    }


async def _throughput(client: Client, run_id: str, count: int, concurrency: int) -> dict:
    """Start `count` workflows from `concurrency` submitters; completed/s from first start to last completion."""
    handles: asyncio.Queue = asyncio.Queue()
    submitted_at: dict[int, float] = {}
    completed_at: dict[int, float] = {}
    next_index = iter(range(count))

    async def submitter() -> None:
        for i in next_index:
            submitted_at[i] = time.perf_counter()
            handle = await client.start_workflow(
                BenchNoopWorkflow.run, i, id=f"bench-bare-{run_id}-{i}", task_queue=TASK_QUEUE
            )
            handles.put_nowait((i, handle))

    async def collector() -> None:
        while True:
            i, handle = await handles.get()
            try:
                await handle.result()
                completed_at[i] = time.perf_counter()
            finally:
                handles.task_done()

    start = time.perf_counter()
    collectors = [asyncio.create_task(collector()) for _ in range(RESULT_COLLECTORS)]
    try:
        await asyncio.gather(*(submitter() for _ in range(concurrency)))
        submit_seconds = time.perf_counter() - start
        await handles.join()
    finally:
        for task in collectors:
            task.cancel()
    wall = max(completed_at.values()) - start
    return {
        "count": count,
        "submit_concurrency": concurrency,
        "submit_s": round(submit_seconds, 3),
        "wall_s": round(wall, 3),
        "completed_per_s": rate(len(completed_at), wall),
        "start_to_complete_under_load": summary_ms([completed_at[i] - submitted_at[i] for i in completed_at]),
    }


def sync_plugin(ctx: BenchContext) -> dict:
    """The fake plugin's calls, made directly, one after the other, on a plugin file of their own."""
    calls = ctx.size.sync_calls
    with tempfile.TemporaryDirectory(prefix="plugin-", dir=ctx.stack.data_dir) as tmp:
        plugin = FakePlugin(Settings(data_dir=Path(tmp)), FakeSettings(latency_ms=0, transient_failure_rate=0.0))
        network_id = str(uuid.uuid4())
        base = PluginRequest(plugin="fake", request_id="", tenant_id="bench", network_id=network_id, network_name="bench")
        ports = [str(uuid.uuid4()) for _ in range(calls)]
        results = {}

        def measure(name: str, call) -> None:
            latencies = []
            start = time.perf_counter()
            for i, port_id in enumerate(ports):
                t0 = time.perf_counter()
                call(i, port_id)
                latencies.append(time.perf_counter() - t0)
            wall = time.perf_counter() - start
            results[name] = {"calls": calls, "calls_per_s": rate(calls, wall), **summary_ms(latencies)}

        def request(i: int, port_id: str, action: str, **fields) -> PluginRequest:
            return PluginRequest(**{**vars(base), "request_id": f"{action}-{i}", "port_id": port_id, **fields})

        measure("create_network", lambda i, _p: plugin.create_network(
            PluginRequest(**{**vars(base), "request_id": f"net-{i}", "network_id": str(uuid.uuid4())})
        ))
        plugin.create_network(PluginRequest(**{**vars(base), "request_id": "the-network"}))
        measure("create_port", lambda i, p: plugin.create_port(request(i, p, "port", state="ACTIVE")))
        measure("plug_interface", lambda i, p: plugin.plug_interface(request(i, p, "plug", iface_id=f"vif-{i}", host="h1")))
        measure("link_status", lambda i, p: plugin.link_status(request(i, p, "link", iface_id=f"vif-{i}", host="h1")))
    return {"what": "fake plugin calls made directly in one thread, no API, no workflow engine", "calls": results}
