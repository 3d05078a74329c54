"""The link monitor on a real Temporal dev server with the real central worker and a real host agent
(worker.build), no Open vSwitch needed: the agent's plugin is `fake`, and the monitor checks the
hosts as ovs hosts (default plugin `ovs`, NETPROV_HOSTS).

An agent whose step slots are all taken by slow plugin steps, with more steps queued behind them
(hundreds of ports attached to one host at once), is still alive to the monitor: its check has a
queue and slots of its own. Once the agent stops, nobody takes the check and the host is dead."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from devstack.temporal_server import TemporalDevServer
from netprov.naming import host_task_queue, step_activity_name
from netprov.operations import PluginRequest, StepSpec
from netprov.settings import Settings
from netprov.workflow_io import StepInput
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker, host_agent
from workflows.link_monitor import LinkMonitorConfig, LinkMonitorInput, LinkMonitorWorkflow

CHECK_TIMEOUT_S = 1.0
# How long each step holds its slot (the fake plugin's latency): well past the check timeout.
STEP_S = 5.0
QUEUED_STEPS = 16


@dataclass
class HostLoad:
    host: str
    steps: int


@workflow.defn(name="HostLoadWorkflow")
class HostLoadWorkflow:
    """`load.steps` slow plugin steps sent at once to the host's step queue, as its port workflows
    would send them."""

    @workflow.run
    async def run(self, load: HostLoad) -> None:
        await asyncio.gather(*(self._plug(load.host, i) for i in range(load.steps)))

    async def _plug(self, host: str, index: int) -> None:
        request = PluginRequest(
            plugin="fake", request_id=f"load-{host}-{index}", tenant_id="t", network_id="n",
            port_id=f"p-{host}-{index}", iface_id=f"vif-{host}-{index}", host=host,
        )  # fmt: skip
        await workflow.execute_activity(
            step_activity_name("fake", "plug_interface"),
            StepInput(request, StepSpec("plug_interface", host_bound=True)),
            task_queue=host_task_queue(host),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def _running_steps(load: WorkflowHandle) -> int:
    pending = (await load.describe()).raw_description.pending_activities
    return sum(1 for a in pending if a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)


async def _verdicts(monitor: WorkflowHandle, cycles: int, timeout: float = 30) -> dict[str, dict]:
    """The monitor's verdict per host once it has run `cycles` cycles."""
    async with asyncio.timeout(timeout):
        while True:
            state = await monitor.query(LinkMonitorWorkflow.describe)
            if state["cycles"] >= cycles:
                return state["hosts"]
            await asyncio.sleep(0.1)


async def test_a_busy_agent_is_alive_and_a_stopped_one_is_dead(temporal_server: TemporalDevServer, tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    busy, absent = f"busy{tag}", f"absent{tag}"
    central = Settings(data_dir=tmp_path, temporal_address=temporal_server.target, plugin="ovs", hosts=f"{busy},{absent}")
    agent = central.model_copy(update={"plugin": "fake", "plugin_settings": {**central.plugin_settings, "fake": {"latency_ms": int(STEP_S * 1000)}}})
    client = await Client.connect(temporal_server.target)
    task_queue = f"link-monitor-test-{tag}"
    config = LinkMonitorConfig(interval_s=3600, agent_check_timeout_s=CHECK_TIMEOUT_S)
    with (
        ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as central_executor,
        ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as agent_executor,
    ):
        async with (
            central_worker(client, central, central_executor, task_queue=task_queue),
            Worker(client, task_queue=f"{task_queue}-load", workflows=[HostLoadWorkflow], workflow_runner=UnsandboxedWorkflowRunner()),
        ):
            async with host_agent(client, agent, busy, agent_executor):
                load = await client.start_workflow(
                    HostLoadWorkflow.run, HostLoad(busy, MAX_CONCURRENT_ACTIVITIES + QUEUED_STEPS),
                    id=f"host-load-{tag}", task_queue=f"{task_queue}-load",
                )  # fmt: skip
                async with asyncio.timeout(STEP_S - 1):
                    while await _running_steps(load) < MAX_CONCURRENT_ACTIVITIES:
                        await asyncio.sleep(0.1)
                monitor = await client.start_workflow(
                    LinkMonitorWorkflow.run, LinkMonitorInput(config), id=f"link-monitor-{tag}", task_queue=task_queue
                )
                hosts = await _verdicts(monitor, cycles=1)
                assert hosts[busy]["agent"] == "alive", hosts[busy]
                assert hosts[absent]["agent"] == "dead", hosts[absent]
                # ... answered while every step slot was still taken, with more steps queued behind.
                assert await _running_steps(load) == MAX_CONCURRENT_ACTIVITIES

            # The agent stopped (once its steps in flight finished): the check goes unanswered.
            await monitor.signal(LinkMonitorWorkflow.check_now)
            hosts = await _verdicts(monitor, cycles=2)
            verdict = hosts[busy]["agent"], hosts[busy]["detail"]
            assert verdict == ("dead", f"no agent took the check within {CHECK_TIMEOUT_S:g} s"), hosts[busy]
            await monitor.terminate("test over")
            await load.terminate("test over")
