"""Wiring workflows and activities into Temporal workers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.batch import BatchActivities
from activities.link_status import AgentLinkActivities, LinkMonitorActivities
from activities.plugin_steps import PluginStepActivities
from activities.projection import ProjectionActivities
from netprov.naming import host_task_queue
from netprov.settings import Settings
from plugins.registry import PluginSet
from store.engine import engine_for
from workflows.batch import BatchWorkflow
from workflows.link_monitor import LinkMonitorConfig, LinkMonitorInput, LinkMonitorWorkflow, link_monitor_id
from workflows.network import NetworkWorkflow
from workflows.plugin_actions import STEP_TIMEOUT
from workflows.port import PortWorkflow

WORKFLOWS = [NetworkWorkflow, PortWorkflow, BatchWorkflow, LinkMonitorWorkflow]
MAX_CONCURRENT_ACTIVITIES = 64
# On SIGTERM a worker stops polling and gives activities in flight this long to finish: longer
# than any plugin step may run (STEP_TIMEOUT), so none is abandoned to a retry elsewhere.
GRACEFUL_SHUTDOWN = STEP_TIMEOUT + timedelta(seconds=5)
# Every operation on a resource is a new workflow run, and the sandbox re-executes a workflow's module for each
# run: a third of the worker's CPU per provisioned port (bench/). Our workflow modules hold no state and make no
# non-deterministic calls, so they are imported once and shared (the sandbox still isolates everything else);
# the replay tests run them in the default sandbox, which keeps checking their determinism.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


def central_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor, task_queue: str | None = None
) -> Worker:
    """The worker on `task_queue`, by default `settings.task_queue` (where the API sends its workflows)."""
    engine = engine_for(settings.resolved_database_url)
    plugins = PluginSet(settings)
    steps = PluginStepActivities(plugins, engine)
    projection = ProjectionActivities(engine)
    batch = BatchActivities(plugins, engine, settings)
    links = LinkMonitorActivities(client, settings, engine)
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
            links.plan,
            links.mark_dead,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=WORKFLOW_RUNNER,
    )


def host_agent(client: Client, settings: Settings, host: str, executor: ThreadPoolExecutor) -> Worker:
    """The agent of hypervisor `host`: only the plugin steps bound to that host run here, and the
    link monitor's check of that host (reconcile, then link status of its ports)."""
    engine = engine_for(settings.resolved_database_url)
    plugins = PluginSet(settings)
    steps = PluginStepActivities(plugins, engine)
    batch = BatchActivities(plugins, engine, settings)
    links = AgentLinkActivities(plugins, engine, host)
    return Worker(
        client,
        task_queue=host_task_queue(host),
        activities=[
            steps.run_step,
            steps.link_status,
            batch.create_networks,
            batch.create_ports,
            batch.plug_interfaces,
            links.check_host,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def start_link_monitor(client: Client, settings: Settings) -> None:
    """Start the link monitor workflow unless it runs, and give it the current settings either way
    (signal-with-start: idempotent, any number of central workers may call it)."""
    config = LinkMonitorConfig(
        interval_s=settings.link_monitor_interval_s, agent_check_timeout_s=settings.agent_check_timeout_s
    )
    await client.start_workflow(
        LinkMonitorWorkflow.run,
        LinkMonitorInput(config=config),
        id=link_monitor_id(settings.task_queue),
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        start_signal="configure",
        start_signal_args=[config],
        static_summary="Link monitor: agent liveness, reconcile and link status of every host",
    )
