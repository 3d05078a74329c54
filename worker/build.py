"""Wiring workflows and activities into Temporal workers."""

import asyncio
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
from netprov.link_io import LinkMonitorConfig, LinkMonitorInput
from netprov.naming import Signal, host_check_queue, host_task_queue, link_monitor_id
from netprov.settings import Settings
from plugins.registry import PluginSet, agentless_plugins
from store.engine import engine_for
from store.projection import set_agentless_plugins
from workflows.batch import BatchWorkflow
from workflows.link_monitor import LinkMonitorWorkflow
from workflows.network import NetworkWorkflow
from workflows.plugin_actions import STEP_TIMEOUT
from workflows.port import PortWorkflow

WORKFLOWS = [NetworkWorkflow, PortWorkflow, BatchWorkflow, LinkMonitorWorkflow]
MAX_CONCURRENT_ACTIVITIES = 64
# An agent's slots (and threads) for the link monitor's check of its host, apart from its steps':
# the monitor sends one check per host and cycle; the second slot takes the next one while a check
# that outlived its cycle still runs.
AGENT_CHECK_SLOTS = 2
# On SIGTERM a worker stops polling and gives activities in flight this long to finish: longer
# than any plugin step may run (STEP_TIMEOUT), so none is abandoned to a retry elsewhere.
GRACEFUL_SHUTDOWN = STEP_TIMEOUT + timedelta(seconds=5)
# Every operation on a resource is a new workflow run, and the sandbox re-executes a workflow's module for each
# run: a third of the worker's CPU per provisioned port (bench/). Our workflow modules hold no state and make no
# non-deterministic calls, so they are imported once and shared (the sandbox still isolates everything else);
# the replay tests run them in the default sandbox, which keeps checking their determinism.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


def _plugins(settings: Settings) -> PluginSet:
    # The store writes a port's conditions and must know which plugins need no host agent; it
    # cannot ask the registry itself (it sits below the plugins), so the worker tells it.
    set_agentless_plugins(agentless_plugins())
    return PluginSet(settings)


def central_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor, task_queue: str | None = None
) -> Worker:
    """The worker on `task_queue`, by default `settings.task_queue` (where the API sends its workflows)."""
    engine = engine_for(settings.resolved_database_url)
    plugins = _plugins(settings)
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
            batch.apply_qos,
            links.plan,
            links.mark_dead,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=WORKFLOW_RUNNER,
    )


class HostAgent:
    """The agent of one hypervisor host: two Workers, started and stopped together (`async with`).
    `steps` serves the host's task queue (plugin steps, batch chunks); `checks` serves only the link
    monitor's check on the host's check queue, with slots and threads of its own, so however many
    steps are queued or running, a live agent takes its check at once."""

    def __init__(self, steps: Worker, checks: Worker, check_executor: ThreadPoolExecutor) -> None:
        self.steps = steps
        self.checks = checks
        self.check_executor = check_executor

    @property
    def task_queues(self) -> list[str]:
        return [self.steps.task_queue, self.checks.task_queue]

    async def __aenter__(self) -> "HostAgent":
        await self.steps.__aenter__()
        await self.checks.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Both stop polling at once and let their activities in flight finish (graceful shutdown);
        # then each raises the error it failed with, if any.
        await asyncio.gather(self.steps.shutdown(), self.checks.shutdown())
        try:
            await self.checks.__aexit__(*exc_info)
        finally:
            await self.steps.__aexit__(*exc_info)
            self.check_executor.shutdown()


def host_agent(client: Client, settings: Settings, host: str, executor: ThreadPoolExecutor) -> HostAgent:
    """The agent of hypervisor `host`: only the plugin steps bound to that host run here (on
    `executor`), and the link monitor's check of that host (reconcile, then link status of its
    ports) on its own queue and threads."""
    engine = engine_for(settings.resolved_database_url)
    plugins = _plugins(settings)
    steps = PluginStepActivities(plugins, engine)
    batch = BatchActivities(plugins, engine, settings)
    links = AgentLinkActivities(plugins, engine, host)
    check_executor = ThreadPoolExecutor(max_workers=AGENT_CHECK_SLOTS, thread_name_prefix="agent-check")
    step_worker = Worker(
        client,
        task_queue=host_task_queue(host),
        activities=[
            steps.run_step,
            steps.link_status,
            batch.create_networks,
            batch.create_ports,
            batch.plug_interfaces,
            batch.apply_qos,
            # For link monitors that still send the check here: histories from before the
            # "agent-check-queue" patch, central workers of earlier versions.
            links.check_host,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
    check_worker = Worker(
        client,
        task_queue=host_check_queue(host),
        activities=[links.check_host],
        activity_executor=check_executor,
        max_concurrent_activities=AGENT_CHECK_SLOTS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )
    return HostAgent(step_worker, check_worker, check_executor)


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
        start_signal=Signal.CONFIGURE,
        start_signal_args=[config],
        static_summary="Link monitor: agent liveness, reconcile and link status of every host",
    )
