"""`python -m worker` runs the central worker; `python -m worker --host H` the agent of host H."""

import argparse
import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from netprov.settings import get_settings
from netprov.temporal_connection import connect
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker, host_agent


async def main(host: str | None) -> None:
    settings = get_settings()
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = host_agent(client, settings, host, executor) if host else central_worker(client, settings, executor)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            logging.getLogger("netprov.worker").info("worker on task queue %s started", worker.task_queue)
            await stop.wait()
        # Leaving the context shuts the worker down gracefully: in-flight activities finish first.


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    parser.add_argument("--host", help="run as the agent of this hypervisor host")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main(args.host))


if __name__ == "__main__":
    run()
