"""Baseline (a)'s workflow: one no-op activity, nothing else. What the engine costs per workflow."""

from datetime import timedelta

from temporalio import workflow

NOOP_ACTIVITY = "bench_noop"
TASK_QUEUE = "netprov-bench-bare"


@workflow.defn(name="BenchNoopWorkflow")
class BenchNoopWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            NOOP_ACTIVITY, value, result_type=int, start_to_close_timeout=timedelta(seconds=60)
        )
