"""The link monitor (`link-monitor`): one long-running workflow that keeps every port's link
status true to what the hosts report, and repairs drift, every `interval_s` seconds.

A cycle:

1. `link_monitor_plan` (central): the hosts with attached ports on plugins that need agents, and the
   pollers Temporal has seen on each host's check queue (`netprov-checks-H`).
2. Per host, in parallel: is its agent alive? Temporal keeps a dead poller listed for minutes, and
   an idle live agent's `last_access_time` can be a minute old (a long poll), so the pollers alone
   do not tell. The check itself does: `link_check_host` is sent to the host's check queue with a
   schedule-to-start timeout; an agent picks it up at once (alive: it reconciles the host and
   writes its ports' link status), or nobody does within `agent_check_timeout_s` (dead). The agent
   serves that queue with slots of its own, so steps queued or running on its step queue
   (`netprov-host-H`) never hold the check back: a busy agent is not taken for a dead one. A host
   found dead is not sent another check until a poll newer than the last one seen at its death
   shows up (its agent came back); a host with no poller at all is dead without a check.
3. `link_monitor_mark_dead` (central): the ports of dead hosts show DOWN "agent on host H not
   running" (AgentAlive False). Only changes are written.

So an agent that dies is reported within interval + agent_check_timeout (10 s with the defaults),
and one that comes back is re-checked within one interval. The `check_now` signal starts a cycle at
once. The central worker starts the monitor at start-up (signal-with-start of `configure`: started
when missing, re-configured when running); the history stays short through continue-as-new.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from netprov.link_io import (
        DeadHostsInput,
        HostCheckInput,
        HostCheckResult,
        HostPollers,
        LinkMonitorConfig,
        LinkMonitorInput,
        MonitorPlan,
    )
    from netprov.naming import Activity, Query, Signal, WorkflowType, host_check_queue, host_task_queue

CYCLES_PER_RUN = 200
PLAN_TIMEOUT = timedelta(seconds=30)
CHECK_TIMEOUT = timedelta(seconds=120)
# A check taken by an agent that then died holds its cycle (and the next check_now) until this
# passes; the agent heartbeats every 2 s (activities/link_status.py).
CHECK_HEARTBEAT = timedelta(seconds=5)
ONCE = RetryPolicy(maximum_attempts=1)
FEW = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=3)

ALIVE, DEAD, FAILED = "alive", "dead", "failed"


@workflow.defn(name=WorkflowType.LINK_MONITOR)
class LinkMonitorWorkflow:
    @workflow.init
    def __init__(self, input: LinkMonitorInput) -> None:
        self.config = input.config
        self.dead: dict[str, float] = dict(input.dead)
        self.wake = False
        self.cycles = 0
        self.hosts: dict[str, dict] = {}

    @workflow.run
    async def run(self, input: LinkMonitorInput) -> None:
        while True:
            await self._cycle()
            self.cycles += 1
            if self.cycles >= CYCLES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(LinkMonitorInput(self.config, self.dead))
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=timedelta(seconds=self.config.interval_s))
            except asyncio.TimeoutError:
                pass
            self.wake = False

    @workflow.signal(name=Signal.CONFIGURE)
    def configure(self, config: LinkMonitorConfig) -> None:
        self.config = config

    @workflow.signal(name=Signal.CHECK_NOW)
    def check_now(self) -> None:
        self.wake = True

    @workflow.query(name=Query.DESCRIBE)
    def describe(self) -> dict:
        return {"config": vars(self.config), "cycles": self.cycles, "dead": dict(self.dead), "hosts": self.hosts}

    async def _cycle(self) -> None:
        try:
            plan: MonitorPlan = await workflow.execute_activity(
                Activity.LINK_MONITOR_PLAN, result_type=MonitorPlan, start_to_close_timeout=PLAN_TIMEOUT, retry_policy=FEW
            )
        except ActivityError as error:
            workflow.logger.warning("link monitor: no plan this cycle: %s", error.cause or error)
            return
        verdicts = await asyncio.gather(*(self._check(host) for host in plan.hosts))
        dead = [host.host for host, verdict in zip(plan.hosts, verdicts) if verdict == DEAD]
        if dead:
            try:
                await workflow.execute_activity(
                    Activity.LINK_MONITOR_MARK_DEAD,
                    DeadHostsInput(dead),
                    result_type=int,
                    start_to_close_timeout=PLAN_TIMEOUT,
                    retry_policy=FEW,
                )
            except ActivityError as error:
                workflow.logger.warning("link monitor: could not mark hosts %s: %s", dead, error.cause or error)
        known = {host.host for host in plan.hosts}
        self.hosts = {name: state for name, state in self.hosts.items() if name in known}
        self.dead = {name: seen for name, seen in self.dead.items() if name in known}

    async def _check(self, host: HostPollers) -> str:
        seen = self.dead.get(host.host)
        if host.error is None and (host.last_poll is None or (seen is not None and host.last_poll <= seen)):
            # No poller, or none has polled since the agent was found dead: still dead.
            return self._verdict(host, DEAD, "no poller on its check queue since it was found not running")
        # Runs recorded before the patch sent the check to the host's step queue, behind its steps.
        check_queue = host_check_queue(host.host) if workflow.patched("agent-check-queue") else host_task_queue(host.host)
        try:
            result: HostCheckResult = await workflow.execute_activity(
                Activity.LINK_CHECK_HOST,
                HostCheckInput(host.host),
                result_type=HostCheckResult,
                task_queue=check_queue,
                schedule_to_start_timeout=timedelta(seconds=self.config.agent_check_timeout_s),
                start_to_close_timeout=CHECK_TIMEOUT,
                heartbeat_timeout=CHECK_HEARTBEAT,
                retry_policy=ONCE,
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, TimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_START:
                self.dead[host.host] = host.last_poll or 0.0
                return self._verdict(host, DEAD, f"no agent took the check within {self.config.agent_check_timeout_s:g} s")
            # The agent took the check and failed or vanished during it: the next cycle tells.
            return self._verdict(host, FAILED, str(cause or error))
        self.dead.pop(host.host, None)
        detail = f"{result.up}/{result.checked} ports up, {result.written} written, {result.seconds:g} s"
        if result.repaired:
            detail += f", repaired: {'; '.join(result.repaired)}"
        if result.errors:
            detail += f", errors: {'; '.join(result.errors)}"
        return self._verdict(host, ALIVE, detail)

    def _verdict(self, host: HostPollers, verdict: str, detail: str) -> str:
        self.hosts[host.host] = {"agent": verdict, "detail": detail, "pollers": host.identities}
        return verdict
