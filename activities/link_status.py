"""Activities of the link monitor (workflows/link_monitor.py).

Central worker:

- `link_monitor_plan`: the hosts to check (hosts of attachments on plugins that need agents, plus
  NETPROV_HOSTS when the default plugin needs them) and, for each, the pollers Temporal has seen on
  its check queue (DescribeTaskQueue), where the check goes: liveness without the agent's cooperation.
- `link_monitor_mark_dead`: the ports on hosts whose agent is not running: link DOWN "agent on
  host H not running", condition AgentAlive False.

Agent of host H (`python -m worker --host H`, check queue `netprov-checks-H`):

- `link_check_host`: one call per host and cycle, for all its ports at once: the link status of
  every attached port from what the switch and kernel report, written to the ports (changes only);
  then `reconcile(H)` of each plugin that has one (drift repaired: a VLAN tag changed by hand is put
  back; an interface that appeared since it was plugged gets its tag); and when it repaired
  anything, the link status once more. So drift shows on its ports (DOWN, then UP once repaired)
  instead of being repaired unseen. QoS is read back the same way (`qos_status_many`, ports a policy
  applies to, before and after reconcile): a limit removed by hand shows in qos_status (ERROR, with
  the reason, and its `port.qos_status` event), then AVAILABLE once it is put back; removed after
  the read-back and before the reconcile, the repair's QosDrift carries what it found, and that is
  recorded instead.

Only plugins with host-bound steps have agents (plugins.registry.needs_agent): the sim plugins
(fake, ovs-sim, qbh-sim) have none, so their ports are never checked here nor marked "agent not
running"; their link status is evaluated when their operations are applied.
"""

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from netprov.conditions import AgentState, agent_not_running
from netprov.link_io import DeadHostsInput, HostCheckInput, HostCheckResult, HostPollers, MonitorPlan
from netprov.naming import Activity, host_check_queue
from netprov.operations import PluginRequest
from netprov.qos import QosDrift
from netprov.settings import Settings
from netprov.status import AttachmentStatus, LinkStatus, QosStatus
from plugins.base import PluginError
from plugins.registry import PluginSet, agent_plugins, needs_agent
from store.links import LinkFinding, LinkTarget, attachment_hosts, host_targets, record_findings
from store.qos_status import QosFinding, record_qos_findings

log = logging.getLogger("netprov.link_monitor")

NETWORK_NOT_AVAILABLE = "network not AVAILABLE"
DESCRIBE_TIMEOUT = timedelta(seconds=5)
HEARTBEAT_EVERY_S = 2.0

T = TypeVar("T")


class LinkMonitorActivities:
    """The central side: needs the Temporal client (to describe task queues) and the database."""

    def __init__(self, client: Client, settings: Settings, engine: Engine) -> None:
        self.client = client
        self.settings = settings
        self.engine = engine

    @activity.defn(name=Activity.LINK_MONITOR_PLAN)
    async def plan(self) -> MonitorPlan:
        plugins = agent_plugins()
        hosts = set(await asyncio.to_thread(attachment_hosts, self.engine, plugins))
        if needs_agent(self.settings.plugin):
            hosts.update(self.settings.host_list)
        return MonitorPlan(hosts=list(await asyncio.gather(*(self._pollers(host) for host in sorted(hosts)))))

    @activity.defn(name=Activity.LINK_MONITOR_MARK_DEAD)
    def mark_dead(self, dead: DeadHostsInput) -> int:
        """Ports on `dead.hosts` (with operations pending too: they wait for that agent) show link
        DOWN "agent on host H not running"; return how many ports were written."""
        return mark_agents_dead(self.engine, dead.hosts)

    async def _pollers(self, host: str) -> HostPollers:
        request = DescribeTaskQueueRequest(
            namespace=self.client.namespace,
            task_queue=TaskQueue(name=host_check_queue(host), kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
        try:
            response = await self.client.workflow_service.describe_task_queue(request, timeout=DESCRIBE_TIMEOUT)
        except RPCError as error:
            return HostPollers(host=host, error=str(error))
        polls = [p.last_access_time.ToMicroseconds() / 1e6 for p in response.pollers if p.HasField("last_access_time")]
        return HostPollers(
            host=host,
            pollers=len(response.pollers),
            last_poll=max(polls) if polls else None,
            identities=sorted(p.identity for p in response.pollers),
        )


def mark_agents_dead(engine: Engine, hosts: list[str]) -> int:
    """Every port on `hosts` on plugins with agents: link DOWN "agent on host H not running",
    AgentAlive False (changes only). Also what a supervisor calls the moment it sees an agent
    die, before the monitor's next cycle would. Returns how many ports were written."""
    plugins = agent_plugins()
    written = 0
    for host in hosts:
        findings = [
            LinkFinding(target, LinkStatus.DOWN.value, agent_not_running(host))
            for target in host_targets(engine, host, plugins)
        ]
        written += len(record_findings(engine, findings, AgentState.DEAD))
    return written


class AgentLinkActivities:
    """The agent's side: runs on host H's agent only."""

    def __init__(self, plugins: PluginSet, engine: Engine, host: str) -> None:
        self.plugins = plugins
        self.engine = engine
        self.host = host

    @activity.defn(name=Activity.LINK_CHECK_HOST)
    def check_host(self, check: HostCheckInput) -> HostCheckResult:
        if check.host != self.host:
            raise ApplicationError(
                f"agent of host {self.host} got the check of host {check.host}", type="WrongHost", non_retryable=True
            )
        return _heartbeating(lambda: self._check())

    def _check(self) -> HostCheckResult:
        started = time.monotonic()
        host = self.host
        plugin_names = agent_plugins()
        targets = host_targets(self.engine, host, plugin_names)
        result = HostCheckResult(host=host, ports=len(targets))
        reconciled = {t.plugin for t in targets}
        if needs_agent(self.plugins.settings.plugin):
            reconciled.add(self.plugins.settings.plugin)
        # The links as the device is now, drift included, then the repair: a port that drifted shows
        # DOWN (in its conditions and status events) rather than having been UP throughout.
        self._record_links(targets, result)
        self._record_qos(targets, result)
        qos_repairs: list[QosDrift] = []
        for name in sorted(reconciled):
            try:
                drifts = self.plugins.get(name).reconcile(host)
            except (PluginError, ValueError) as error:
                result.errors.append(f"reconcile of plugin {name} on host {host}: {error}")
                log.warning("reconcile of plugin %s on host %s failed: %s", name, host, error)
                continue
            for drift in drifts:
                log.info("drift repaired: %s", drift, extra={"host": host, "plugin": name})
                result.repaired.append(str(drift))
                if isinstance(drift, QosDrift):
                    qos_repairs.append(drift)
        self._record_qos_repairs(targets, qos_repairs)
        if result.repaired:  # read again: the rows just written are newer than `targets`
            targets = host_targets(self.engine, host, plugin_names)
            self._record_links(targets, result)
            self._record_qos(targets, result)
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _record_links(self, targets: list[LinkTarget], result: HostCheckResult) -> None:
        host = self.host
        # A port whose operations are pending is its workflow's: it evaluates the link when done.
        settled = [t for t in targets if not t.pending and t.port.attachment_status == AttachmentStatus.AVAILABLE]
        findings = [LinkFinding(t, LinkStatus.DOWN.value, NETWORK_NOT_AVAILABLE) for t in settled if not t.network_available]
        by_plugin: dict[str, list[LinkTarget]] = {}
        for target in settled:
            if target.network_available:
                by_plugin.setdefault(target.plugin, []).append(target)
        for name, group in by_plugin.items():
            try:
                reports = self.plugins.get(name).link_status_many([_request(t) for t in group])
            except PluginError as error:
                result.errors.append(f"link status of plugin {name} on host {host}: {error}")
                continue
            findings += [LinkFinding(t, r.status.value, r.reason) for t, r in zip(group, reports)]
        result.checked = len(findings)
        result.up = sum(1 for f in findings if f.link_status == LinkStatus.UP)
        result.written += len(record_findings(self.engine, findings, AgentState.ALIVE))


    def _record_qos(self, targets: list[LinkTarget], result: HostCheckResult) -> None:
        """Read back the QoS of the settled ports a policy applies to and record it (changes only)."""
        by_plugin: dict[str, list[LinkTarget]] = {}
        for t in _qos_checked(targets):
            by_plugin.setdefault(t.plugin, []).append(t)
        findings: list[QosFinding] = []
        for name, group in by_plugin.items():
            try:
                # qos None: each port compared with what its plugin last applied to it.
                reports = self.plugins.get(name).qos_status_many([_request(t) for t in group])
            except PluginError as error:
                result.errors.append(f"QoS read-back of plugin {name} on host {self.host}: {error}")
                continue
            findings += [QosFinding(t.port, r.status.value, r.reason) for t, r in zip(group, reports)]
        record_qos_findings(self.engine, findings)

    def _record_qos_repairs(self, targets: list[LinkTarget], repairs: list[QosDrift]) -> None:
        """A port whose QoS was AVAILABLE and that reconcile just repaired shows the drift it found
        (ERROR, with its `port.qos_status` event) before the read-back after the repair: a limit
        removed by hand between this check's read-back and its reconcile is not repaired unseen.
        A port still PROVISIONING (its interface just appeared) only gets its first enforcement."""
        found = {d.iface_id: d.found for d in repairs if d.host == self.host and d.iface_id and d.found}
        findings = [
            QosFinding(t.port, QosStatus.ERROR.value, found[t.port.attachment_id])
            for t in _qos_checked(targets)
            if t.port.qos_status == QosStatus.AVAILABLE and t.port.attachment_id in found
        ]
        record_qos_findings(self.engine, findings)


def _qos_checked(targets: list[LinkTarget]) -> list[LinkTarget]:
    """The settled ports with a QoS status on AVAILABLE networks and attachments: the ones read back."""
    return [
        t for t in targets
        if t.port.qos_status is not None and not t.pending and t.network_available
        and t.port.attachment_status == AttachmentStatus.AVAILABLE
    ]  # fmt: skip


def _request(target: LinkTarget) -> PluginRequest:
    port = target.port
    return PluginRequest(
        plugin=target.plugin,
        request_id=f"link-check:{port.id}",
        tenant_id=port.tenant_id,
        network_id=port.network_id,
        network_name=target.network_name,
        port_id=port.id,
        state=port.state,
        iface_id=port.attachment_id,
        host=port.attachment_host,
        extra=dict(target.network_data),
    )


def _heartbeating(work: Callable[[], T]) -> T:
    """Run `work` in a helper thread while this activity thread heartbeats, so a slow switch does
    not look like a dead agent and a dead agent is noticed by its heartbeat timeout."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="link-check") as pool:
        future = pool.submit(work)
        while True:
            try:
                return future.result(timeout=HEARTBEAT_EVERY_S)
            except concurrent.futures.TimeoutError:
                activity.heartbeat()
