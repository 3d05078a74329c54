"""A host agent's device watches (Plugin.watch) turned into link checks: when a plugin says host H's
device changed, the agent signals the link monitor's `check_now`, so the change is checked (and
repaired, and shown on the ports) within about a second rather than at the next periodic cycle.

Signals are debounced (`settle_s` after the first change) and spaced (`min_gap_s` between two), so
a burst of changes, or the agent's own repairs, cost one or two extra cycles, not one per change.
"""

import asyncio
import logging
from collections.abc import Callable

from temporalio.client import Client
from temporalio.service import RPCError

from netprov.settings import Settings
from plugins.registry import PluginSet, agent_plugins
from netprov.naming import link_monitor_id

log = logging.getLogger("netprov.worker")


class CheckTrigger:
    def __init__(self, client: Client, settings: Settings, *, settle_s: float = 0.2, min_gap_s: float = 1.0) -> None:
        self.client = client
        self.settings = settings
        self.settle_s = settle_s
        self.min_gap_s = min_gap_s
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """Thread-safe: called by the plugins' watch threads."""
        self._loop.call_soon_threadsafe(self._changed.set)

    async def run(self) -> None:
        handle = self.client.get_workflow_handle(link_monitor_id(self.settings.task_queue))
        while True:
            await self._changed.wait()
            await asyncio.sleep(self.settle_s)
            self._changed.clear()
            try:
                await handle.signal("check_now")
            except RPCError as error:  # no monitor yet, or Temporal away: the periodic check remains
                log.debug("could not ask the link monitor for a check: %s", error)
            await asyncio.sleep(self.min_gap_s)


def start_watches(settings: Settings, host: str, changed: Callable[[], None]) -> list[Callable[[], None]]:
    """Start every agent plugin's watch of `host`; return the functions that stop them."""
    plugins = PluginSet(settings)
    stops = []
    for name in agent_plugins():
        try:
            stop = plugins.get(name).watch(host, changed)
        except Exception as error:  # noqa: BLE001 - no watch only means no early checks
            log.warning("plugin %s cannot watch host %s: %s", name, host, error)
            continue
        if stop is not None:
            stops.append(stop)
    return stops
