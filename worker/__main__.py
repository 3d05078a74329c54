"""`python -m worker` runs the central worker; `python -m worker --host H` the agent of host H.

The agent runs two Workers: H's plugin steps on `netprov-host-H`, and the link monitor's check of H
on `netprov-checks-H`, with slots of its own, so a busy agent still answers it.

The central worker also makes sure the link monitor workflow runs (workflows/link_monitor.py;
NETPROV_LINK_MONITOR=false leaves it alone).

SIGTERM (or Ctrl-C) stops polling for new tasks and lets the activities in flight finish (up to
worker.build.GRACEFUL_SHUTDOWN) before the process exits 0: no plugin call is cut halfway, and the
workflow goes on with the next worker to poll. With NETPROV_WORKER_METRICS_PORT set, Prometheus
metrics are served on that port (worker/metrics.py).
"""

import argparse
import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.common import MetricMeter
from temporalio.service import RPCError

from netprov.logging_setup import configure_logging
from netprov.settings import get_settings
from netprov.tracing import configure_tracing
from netprov.temporal_connection import connect
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker, host_agent, start_link_monitor
from worker.metrics import WorkerTelemetry, metrics_runtime
from worker.switch_events import CheckTrigger, start_watches

log = logging.getLogger("netprov.worker")


async def main(host: str | None) -> None:
    settings = get_settings()
    runtime = metrics_runtime(settings)
    options = {"runtime": runtime} if runtime else {}
    telemetry = WorkerTelemetry(runtime.metric_meter if runtime else MetricMeter.noop)
    client = await connect(settings, interceptors=[telemetry], **options)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        if host:
            worker = host_agent(client, settings, host, executor)
            task_queues = worker.task_queues
        else:
            worker = central_worker(client, settings, executor)
            task_queues = [worker.task_queue]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            for task_queue in task_queues:
                log.info(
                    "worker on task queue %s started",
                    task_queue,
                    extra={"task_queue": task_queue, "metrics_port": settings.worker_metrics_port or None},
                )
            if not host and settings.link_monitor:
                try:
                    await start_link_monitor(client, settings)
                    log.info("link monitor running (every %g s)", settings.link_monitor_interval_s)
                except RPCError as error:
                    log.warning("could not start the link monitor: %s (the next worker start retries)", error)
            watching = await _watch_switches(client, settings, host) if host else None
            await stop.wait()
            if watching is not None:
                await asyncio.to_thread(watching)
            log.info("stop requested: finishing activities in flight, then exiting")
        # Leaving the context shuts the worker down gracefully: in-flight activities finish first.
    log.info("worker stopped")


async def _watch_switches(client, settings, host: str):
    """The agent's device watches (worker/switch_events.py); returns what stops them."""
    trigger = CheckTrigger(client, settings)
    task = asyncio.create_task(trigger.run())
    stops = await asyncio.to_thread(start_watches, settings, host, trigger.changed)
    trigger.changed()  # a (re)started agent is checked at once: its ports need not wait a cycle

    def stop() -> None:
        task.cancel()
        for stop_one in stops:
            stop_one()

    return stop


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="run as the agent of this hypervisor host")
    return parser


def run() -> None:
    args = parser().parse_args()
    service = f"agent-{args.host}" if args.host else "worker"
    configure_logging(service, get_settings())
    configure_tracing(service)
    asyncio.run(main(args.host))
    # Everything is stopped and flushed. Skip interpreter finalization: the Temporal runtime's
    # native threads can still be winding down then, which has been seen to abort the process
    # (PyGILState_Release) and turn a clean stop into a crash exit code.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    run()
