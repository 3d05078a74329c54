"""Wiring workflows and activities into Temporal workers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.batch import BatchActivities
from activities.plugin_steps import PluginStepActivities
from activities.projection import ProjectionActivities
from netprov.naming import host_task_queue
from netprov.settings import Settings
from plugins.registry import PluginSet
from store.engine import engine_for
from workflows.batch import BatchWorkflow
from workflows.network import NetworkWorkflow
from workflows.plugin_actions import STEP_TIMEOUT
from workflows.port import PortWorkflow

WORKFLOWS = [NetworkWorkflow, PortWorkflow, BatchWorkflow]
MAX_CONCURRENT_ACTIVITIES = 64
# On SIGTERM a worker stops polling and gives activities in flight this long to finish: longer
# than any plugin step may run (STEP_TIMEOUT), so none is abandoned to a retry elsewhere.
GRACEFUL_SHUTDOWN = STEP_TIMEOUT + timedelta(seconds=5)


def central_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor, task_queue: str | None = None
) -> Worker:
    """The worker on `task_queue`, by default `settings.task_queue` (where the API sends its workflows)."""
    engine = engine_for(settings.resolved_database_url)
    plugins = PluginSet(settings)
    steps = PluginStepActivities(plugins, engine)
    projection = ProjectionActivities(engine)
    batch = BatchActivities(plugins, engine, settings)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            steps.run_step,
            steps.link_status,
            projection.record_status,
            projection.remove_resource,
            projection.read_network,
            projection.read_applied_seq,
            projection.count_ports,
            batch.load,
            batch.settle,
            batch.cancel_pending,
            batch.fail_items,
            batch.create_networks,
            batch.create_ports,
            batch.plug_interfaces,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


def host_agent(client: Client, settings: Settings, host: str, executor: ThreadPoolExecutor) -> Worker:
    """The agent of hypervisor `host`: only the plugin steps bound to that host run here."""
    engine = engine_for(settings.resolved_database_url)
    plugins = PluginSet(settings)
    steps = PluginStepActivities(plugins, engine)
    batch = BatchActivities(plugins, engine, settings)
    return Worker(
        client,
        task_queue=host_task_queue(host),
        activities=[steps.run_step, steps.link_status, batch.create_networks, batch.create_ports, batch.plug_interfaces],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
