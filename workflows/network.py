"""The workflow of one network (`network-<id>`): provisions it, deletes it, and tells the ports
waiting for it how it ended."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from netprov.naming import Activity, Query, Signal, WorkflowType, port_workflow_id
    from netprov.operations import OpKind, Operation, PluginAction, PluginRequest
    from netprov.status import NetworkStatus, ResourceType
    from netprov.workflow_io import NetworkSettled, NetworkWorkflowInput, Projection
    from workflows.op_queue import OpQueue
    from workflows.plugin_actions import ActionFailed, ActionTarget, run_action
    from workflows.resource_loop import DB_RETRY, DB_TIMEOUT, ResourceLoop, record, remove_row

PORTS_GONE_CHECK = timedelta(seconds=5)


@workflow.defn(name=WorkflowType.NETWORK)
class NetworkWorkflow(ResourceLoop):
    resource_type = ResourceType.NETWORK.value

    @workflow.init
    def __init__(self, input: NetworkWorkflowInput) -> None:
        self.input = input
        self.resource_id = input.network_id
        self.queue = OpQueue(input.applied_seq, input.pending)
        self.status = input.status
        self.status_reason = input.status_reason
        self.use_search_attributes = input.search_attributes
        self.watchers: list[str] = list(input.watchers)
        self.ports_gone: set[str] = set()
        self.step = ""

    @workflow.run
    async def run(self, input: NetworkWorkflowInput) -> str:
        await self.drain()
        return self.status if not self.deleted else "DELETED"

    @workflow.signal(name=Signal.ENQUEUE)
    def enqueue(self, op: Operation) -> None:
        self.queue.add(op)

    @workflow.signal(name=Signal.WATCH)
    def watch(self, port_id: str) -> None:
        """A port waits for this network to be provisioned; it is answered with `network_settled`."""
        if port_id not in self.watchers:
            self.watchers.append(port_id)

    @workflow.signal(name=Signal.PORT_GONE)
    def port_gone(self, port_id: str) -> None:
        self.ports_gone.add(port_id)

    @workflow.query(name=Query.DESCRIBE)
    def describe(self) -> dict:
        return {
            "network_id": self.resource_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "step": self.step,
            "applied_seq": self.queue.applied_seq,
            "pending": [f"{op.seq}:{op.kind.value}" for op in self.queue.pending()],
            "waiting_ports": list(self.watchers),
        }

    def carry_over(self) -> NetworkWorkflowInput:
        return NetworkWorkflowInput(
            network_id=self.input.network_id,
            tenant_id=self.input.tenant_id,
            name=self.input.name,
            plan=self.input.plan,
            status=self.status,
            status_reason=self.status_reason,
            applied_seq=self.queue.applied_seq,
            search_attributes=self.use_search_attributes,
            pending=self.queue.pending(),
            watchers=self.watchers,
        )

    async def apply(self, op: Operation) -> None:
        if op.kind == OpKind.RETRY and op.network_name:
            self.input.name = op.network_name
        if op.kind in (OpKind.CREATE, OpKind.RETRY):
            await self._provision(op)
        elif op.kind == OpKind.DELETE:
            await self._delete(op)
        else:
            await self.void(op)

    def has_work_between_ops(self) -> bool:
        return bool(self.watchers) and self.status != NetworkStatus.PROVISIONING

    async def between_ops(self) -> bool:
        if not self.has_work_between_ops():
            return False
        await self._answer_watchers()
        return True

    async def _provision(self, op: Operation) -> None:
        self.set_status(NetworkStatus.PROVISIONING, None)
        self.step = PluginAction.CREATE_NETWORK.value
        done = Projection(
            self.resource_type, self.resource_id, op.seq, {"status": NetworkStatus.AVAILABLE.value, "status_reason": None}, final=True
        )
        try:
            await run_action(
                self.input.plan, PluginAction.CREATE_NETWORK, self._request(op), self._target(op), on_success=done
            )
        except ActionFailed as failure:
            self.set_status(NetworkStatus.ERROR, failure.reason)
            await record(
                Projection(
                    self.resource_type, self.resource_id, op.seq, {"status": NetworkStatus.ERROR.value, "status_reason": failure.reason}, final=True
                )
            )
        else:
            self.set_status(NetworkStatus.AVAILABLE, None)
        finally:
            self.step = ""

    async def _delete(self, op: Operation) -> None:
        self.status_reason = "deleting"
        self.step = "waiting for its ports to be deleted"
        await self._answer_watchers(NetworkSettled(self.resource_id, NetworkStatus.ERROR.value, "network is being deleted"))
        # Added after v0.1 shipped: runs recorded before it replay without this activity.
        if op.port_ids and workflow.patched("network-delete-progress"):
            await record(
                Projection(
                    self.resource_type,
                    self.resource_id,
                    op.seq,
                    {"progress": f"deleting: waiting for {len(op.port_ids)} port(s) to be deleted first"},
                )
            )
        await self._wait_for_ports(op.port_ids)
        self.step = PluginAction.DELETE_NETWORK.value
        try:
            await run_action(self.input.plan, PluginAction.DELETE_NETWORK, self._request(op), self._target(op))
        except ActionFailed as failure:
            self.step = ""
            self.set_status(NetworkStatus.ERROR, failure.reason)
            await record(
                Projection(
                    self.resource_type, self.resource_id, op.seq, {"status": NetworkStatus.ERROR.value, "status_reason": failure.reason}, final=True
                )
            )
            return
        await remove_row(self.resource_type, self.resource_id)
        self.deleted = True

    async def _wait_for_ports(self, port_ids: list[str]) -> None:
        remaining = lambda: set(port_ids) - self.ports_gone  # noqa: E731
        while True:
            try:
                await workflow.wait_condition(lambda: not remaining(), timeout=PORTS_GONE_CHECK)
                return
            except asyncio.TimeoutError:
                # A port's notice can be lost (it finished before this run started): ask the database.
                left = await workflow.execute_activity(
                    Activity.DB_COUNT_PORTS, self.resource_id, result_type=int, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
                )
                if left == 0:
                    return

    async def _answer_watchers(self, settled: NetworkSettled | None = None) -> None:
        settled = settled or NetworkSettled(self.resource_id, self.status, self.status_reason)
        watchers, self.watchers = self.watchers, []
        for port_id in watchers:
            try:
                await workflow.get_external_workflow_handle(port_workflow_id(port_id)).signal(Signal.NETWORK_SETTLED, settled)
            except Exception:  # noqa: BLE001 - the port's workflow may be gone: nothing waits any more
                workflow.logger.info("port %s no longer waits for network %s", port_id, self.resource_id)

    def _request(self, op: Operation) -> PluginRequest:
        return PluginRequest(
            plugin=self.input.plan.plugin,
            request_id=op.op_id,
            tenant_id=self.input.tenant_id,
            network_id=self.input.network_id,
            network_name=self.input.name,
        )

    def _target(self, op: Operation) -> ActionTarget:
        return ActionTarget(self.resource_type, self.resource_id, op.seq, cancelled=lambda: self.cancel_requested)
