"""`python -m bench.bare_worker`: baseline (a)'s worker, a process of its own like `python -m worker`.

It is built from the central worker's own configuration (`Worker.config()` of `worker.build.central_worker`):
same concurrency limits, pollers, cache and activity executor, so the only difference from netprov's worker is
the work: one no-op activity per workflow, on its own task queue.
"""

import argparse
import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.bare_workflow import NOOP_ACTIVITY, TASK_QUEUE, BenchNoopWorkflow
from netprov.settings import get_settings
from netprov.temporal_connection import connect
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker


@activity.defn(name=NOOP_ACTIVITY)
def noop(value: int) -> int:
    # A plain function, like netprov's plugin steps: it runs on the worker's thread pool.
    return value


def bare_worker(netprov_worker: Worker, task_queue: str) -> Worker:
    """A worker with `netprov_worker`'s settings that runs only the no-op workflow and activity. When netprov's
    sandbox passes its own workflow package through (imported once, not per run), the no-op workflow's module is
    passed through as well, so neither side pays a cost the other is spared."""
    config = netprov_worker.config()
    config.update(task_queue=task_queue, workflows=[BenchNoopWorkflow], activities=[noop])
    runner = config.get("workflow_runner")
    if isinstance(runner, SandboxedWorkflowRunner) and "workflows" in runner.restrictions.passthrough_modules:
        config["workflow_runner"] = SandboxedWorkflowRunner(
            restrictions=runner.restrictions.with_passthrough_modules(BenchNoopWorkflow.__module__)
        )
    return Worker(**config)


async def main(task_queue: str) -> None:
    settings = get_settings()
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = bare_worker(central_worker(client, settings, executor), task_queue)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            logging.getLogger("netprov.bench").info("bare worker on task queue %s started", task_queue)
            await stop.wait()


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_worker", description=__doc__)
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main(args.task_queue))


if __name__ == "__main__":
    run()
