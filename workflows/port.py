"""The workflow of one port (`port-<id>`): waits for its network, provisions the port, applies
admin-state changes, plugs and unplugs its interface, and deletes it, in the order accepted."""

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from netprov.naming import Activity, Query, Signal, WorkflowType, network_workflow_id
    from netprov.operations import OpKind, Operation, PluginAction, PluginRequest
    from netprov.status import NO_ATTACHMENT, AttachmentStatus, LinkStatus, NetworkStatus, PortStatus, ResourceType
    from netprov.workflow_io import (
        Attachment,
        NetworkSettled,
        NetworkSnapshot,
        PortWorkflowInput,
        Projection,
    )
    from workflows.op_queue import OpQueue
    from workflows.plugin_actions import ActionFailed, ActionTarget, run_action
    from workflows.port_qos import PortQos
    from workflows.resource_loop import DB_RETRY, DB_TIMEOUT, ResourceLoop, record, remove_row

# How long a port waits for its network's answer before asking again.
NETWORK_RECHECK = timedelta(seconds=30)


@workflow.defn(name=WorkflowType.PORT)
class PortWorkflow(PortQos, ResourceLoop):
    resource_type = ResourceType.PORT.value

    @workflow.init
    def __init__(self, input: PortWorkflowInput) -> None:
        self.input = input
        self.resource_id = input.port_id
        self.queue = OpQueue(input.applied_seq, input.pending)
        self.status = input.status
        self.status_reason = input.status_reason
        self.use_search_attributes = input.search_attributes
        self.state = input.state
        self.attachment: Attachment | None = input.attachment
        self.network_ready = input.network_ready
        self.network: NetworkSettled | None = None
        self.network_data: dict[str, str] = dict(input.network_data)
        self.qos = input.qos
        self.step = ""

    @workflow.run
    async def run(self, input: PortWorkflowInput) -> str:
        await self.drain()
        return self.status if not self.deleted else "DELETED"

    @workflow.signal(name=Signal.ENQUEUE)
    def enqueue(self, op: Operation) -> None:
        self.queue.add(op)

    @workflow.signal(name=Signal.NETWORK_SETTLED)
    def network_settled(self, settled: NetworkSettled) -> None:
        self.network = settled

    @workflow.query(name=Query.DESCRIBE)
    def describe(self) -> dict:
        return {
            "port_id": self.resource_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "state": self.state,
            "attachment": None if self.attachment is None else vars(self.attachment),
            "step": self.step,
            "qos": None if self.qos is None else self.qos.policy_id,
            "applied_seq": self.queue.applied_seq,
            "pending": [f"{op.seq}:{op.kind.value}" for op in self.queue.pending()],
        }

    def carry_over(self) -> PortWorkflowInput:
        return PortWorkflowInput(
            port_id=self.input.port_id,
            tenant_id=self.input.tenant_id,
            network_id=self.input.network_id,
            network_name=self.input.network_name,
            plan=self.input.plan,
            state=self.state,
            status=self.status,
            status_reason=self.status_reason,
            network_ready=self.network_ready,
            attachment=self.attachment,
            applied_seq=self.queue.applied_seq,
            search_attributes=self.use_search_attributes,
            pending=self.queue.pending(),
            network_data=self.network_data,
            qos=self.qos,
        )

    async def apply(self, op: Operation) -> None:
        self.step = op.kind.value
        try:
            if op.kind == OpKind.CREATE:
                await self._create(op)
            elif op.kind == OpKind.UPDATE:
                await self._update(op)
            elif op.kind == OpKind.ATTACH:
                await self._attach(op)
            elif op.kind == OpKind.DETACH:
                await self._detach(op)
            elif op.kind == OpKind.DELETE:
                await self._delete(op)
            elif op.kind == OpKind.RETRY:
                await self._retry(op)
            elif op.kind == OpKind.SET_QOS:
                await self.set_qos(op)
            else:
                await self.void(op)
        finally:
            self.step = ""

    # -- operations -------------------------------------------------------------------------

    async def _create(self, op: Operation) -> None:
        if op.state:
            self.state = op.state
        self.take_qos(op)
        network_failure = await self._network_failure(op)
        if network_failure is not None:
            await self._fail(op, network_failure)
            return
        await self._provision_port(op, PluginAction.CREATE_PORT)
        if self.status != PortStatus.ERROR and self.qos_pending():
            await self.apply_qos(op)

    async def _update(self, op: Operation) -> None:
        self.state = op.state or self.state
        if self.status == PortStatus.ERROR:
            # Nothing to update on a port that was never provisioned; RETRY re-drives it.
            await self._settle(op, {})
            return
        await self._provision_port(op, PluginAction.UPDATE_PORT)

    async def _attach(self, op: Operation) -> None:
        self.attachment = Attachment(iface_id=op.iface_id or "", host=op.host or "")
        self.take_qos(op)
        if self.status == PortStatus.ERROR:
            reason = f"port {self.resource_id} is in ERROR: {self.status_reason}"
            self.attachment.status = AttachmentStatus.ERROR.value
            await self._settle(op, {"attachment_status": AttachmentStatus.ERROR.value, "attachment_reason": reason})
            return
        await self._plug(op)

    async def _plug(self, op: Operation) -> None:
        assert self.attachment is not None
        await self._ensure_network_data()
        done = Projection(
            self.resource_type,
            self.resource_id,
            op.seq,
            {
                "status": self.state,
                "status_reason": None,
                "attachment_status": AttachmentStatus.AVAILABLE.value,
                "attachment_reason": None,
                # The policy follows the plug (apply_qos below): not enforced on the interface yet.
                **self.qos_following(f"on interface {self.attachment.iface_id}"),
            },
            final=True,
            evaluate_link=True,
        )
        try:
            await run_action(self.input.plan, PluginAction.PLUG_INTERFACE, self._request(op), self._target(op), done)
        except ActionFailed as failure:
            self.attachment.status = AttachmentStatus.ERROR.value
            await self._settle(
                op,
                {
                    "attachment_status": AttachmentStatus.ERROR.value,
                    "attachment_reason": failure.reason,
                    "link_status": LinkStatus.DOWN.value,
                    "link_status_string": failure.reason,
                    **self.qos_fields("ERROR", f"interface {self.attachment.iface_id} is not plugged: {failure.reason}"),
                },
            )
            return
        self.attachment.status = AttachmentStatus.AVAILABLE.value
        self.set_status(self.state, None)
        if self.qos_pending():
            await self.apply_qos(op)

    async def _detach(self, op: Operation) -> None:
        previous = Attachment(op.iface_id, op.host or "") if op.iface_id else self.attachment
        self.attachment = None
        if previous is not None and self.status != PortStatus.ERROR:
            request = self._request(op, previous)
            try:
                await run_action(self.input.plan, PluginAction.UNPLUG_INTERFACE, request, self._target(op))
            except ActionFailed as failure:
                await self._fail(op, f"unplugging interface {previous.iface_id} failed: {failure.reason}")
                return
        await self._settle(op, {"link_status": LinkStatus.DOWN.value, "link_status_string": NO_ATTACHMENT})

    async def _delete(self, op: Operation) -> None:
        self.status_reason = "deleting"
        try:
            if self.attachment is not None:
                await run_action(
                    self.input.plan, PluginAction.UNPLUG_INTERFACE, self._request(op, self.attachment), self._target(op)
                )
            await run_action(self.input.plan, PluginAction.DELETE_PORT, self._request(op), self._target(op))
        except ActionFailed as failure:
            await self._fail(op, f"deleting the port failed: {failure.reason}")
            return
        await remove_row(self.resource_type, self.resource_id)
        self.deleted = True
        try:
            await workflow.get_external_workflow_handle(network_workflow_id(self.input.network_id)).signal(
                Signal.PORT_GONE, self.resource_id
            )
        except Exception:  # noqa: BLE001 - only a deleting network listens; it also asks the database
            pass

    async def _retry(self, op: Operation) -> None:
        """Operator re-drive: provision again what ended in ERROR."""
        self.take_qos(op)
        if op.network_name:
            self.input.network_name = op.network_name
        if self.status == PortStatus.ERROR:
            self.network_ready = False
            self.network = None
            await self._create(Operation(op.op_id, op.seq, OpKind.CREATE, state=self.state))
            if self.status == PortStatus.ERROR:
                return
        if self.attachment is not None and self.attachment.status == AttachmentStatus.ERROR:
            await self._plug(op)
        elif self.status != PortStatus.ERROR:
            await self._settle(op, {})

    # -- parts ------------------------------------------------------------------------------

    async def _network_failure(self, op: Operation) -> str | None:
        """Wait until the network is provisioned; the reason when it failed, else None."""
        if self.network_ready:
            return None
        network = await self._wait_for_network()
        if network.status == NetworkStatus.AVAILABLE:
            self.network_ready = True
            return None
        return f"network {self.input.network_id} is in ERROR: {network.status_reason}"

    async def _ensure_network_data(self) -> None:
        """Fetch the network's plugin data (e.g. its VLAN) once, for plugins with steps on host
        agents: their requests carry it in `extra`, so an agent needs no central plugin state."""
        if self.network_data or not self._host_bound_plan():
            return
        # Added after v0.1 shipped: runs recorded before it replay without this activity.
        if not workflow.patched("port-network-data"):
            return
        snapshot: NetworkSnapshot = await workflow.execute_activity(
            Activity.DB_READ_NETWORK,
            self.input.network_id,
            result_type=NetworkSnapshot,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        self.network_data = {key: str(value) for key, value in snapshot.plugin_data.items()}

    def _host_bound_plan(self) -> bool:
        return any(step.host_bound for steps in self.input.plan.steps.values() for step in steps)

    async def _wait_for_network(self) -> NetworkSettled:
        # A loop, not recursion: a port may wait for hours (recursion would hit Python's limit).
        while True:
            settled = await self._ask_network()
            if settled is not None:
                return settled

    async def _ask_network(self) -> NetworkSettled | None:
        """Ask the network once: how it settled, or None to ask again."""
        self.step = f"waiting for network {self.input.network_id}"
        await record(
            Projection(
                self.resource_type,
                self.resource_id,
                self.queue.applied_seq + 1,
                {"progress": f"waiting for network {self.input.network_id} to be provisioned"},
            )
        )
        try:
            with self.not_cancellable():
                await workflow.get_external_workflow_handle(network_workflow_id(self.input.network_id)).signal(
                    Signal.WATCH, self.resource_id
                )
        except Exception:  # noqa: BLE001 - the network's workflow is not running: it has settled
            snapshot: NetworkSnapshot = await workflow.execute_activity(
                Activity.DB_READ_NETWORK,
                self.input.network_id,
                result_type=NetworkSnapshot,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            if not snapshot.exists:
                return NetworkSettled(self.input.network_id, NetworkStatus.ERROR.value, "network no longer exists")
            if snapshot.status != NetworkStatus.PROVISIONING:
                return NetworkSettled(self.input.network_id, snapshot.status or "", snapshot.status_reason)
            # A network still PROVISIONING with no workflow has its operation in the API's outbox.
            await workflow.sleep(2)
            return None
        # Added after v0.1 shipped: runs recorded before it waited without a timer. The answer can
        # be lost (the watch signal lands in the network run's last workflow task, or the run is
        # terminated), so ask again now and then instead of waiting forever.
        if workflow.patched("network-wait-recheck"):
            try:
                await workflow.wait_condition(lambda: self.network is not None, timeout=NETWORK_RECHECK)
            except asyncio.TimeoutError:
                return None
        else:
            await workflow.wait_condition(lambda: self.network is not None)
        assert self.network is not None
        return self.network

    async def _provision_port(self, op: Operation, action: PluginAction) -> None:
        if self.attachment is not None:
            await self._ensure_network_data()
        # A created port's policy follows its provisioning (_create): not applied yet.
        qos = self.qos_following("") if action == PluginAction.CREATE_PORT else {}
        done = Projection(
            self.resource_type,
            self.resource_id,
            op.seq,
            {"status": self.state, "status_reason": None, **qos},
            final=True,
            evaluate_link=self.attachment is not None,
        )
        try:
            await run_action(self.input.plan, action, self._request(op), self._target(op), done)
        except ActionFailed as failure:
            await self._fail(op, failure.reason)
            return
        self.set_status(self.state, None)

    async def cancelled(self, op: Operation, reason: str) -> None:
        """An operator cancelled `op`: a cancelled plug fails the attachment only, anything else the port."""
        if op.kind == OpKind.ATTACH and self.status != PortStatus.ERROR and self.attachment is not None:
            self.attachment.status = AttachmentStatus.ERROR.value
            fields = {"link_status": LinkStatus.DOWN.value, "link_status_string": reason}
            await self._settle(op, {"attachment_status": AttachmentStatus.ERROR.value, "attachment_reason": reason, **fields})
            return
        await self._fail(op, reason)

    async def _fail(self, op: Operation, reason: str) -> None:
        self.set_status(PortStatus.ERROR, reason)
        fields = {"status": PortStatus.ERROR.value, "status_reason": reason}
        if self.attachment is not None and self.attachment.status == AttachmentStatus.PROVISIONING:
            self.attachment.status = AttachmentStatus.ERROR.value
            fields |= {"attachment_status": AttachmentStatus.ERROR.value, "attachment_reason": reason}
        await record(Projection(self.resource_type, self.resource_id, op.seq, fields, final=True))

    async def _settle(self, op: Operation, fields: dict) -> None:
        """Finish `op` with the port's current status plus `fields`."""
        await record(
            Projection(
                self.resource_type,
                self.resource_id,
                op.seq,
                {"status": self.status, "status_reason": self.status_reason, **fields},
                final=True,
            )
        )

    def _request(self, op: Operation, attachment: Attachment | None = None) -> PluginRequest:
        attachment = attachment or self.attachment
        return PluginRequest(
            plugin=self.input.plan.plugin,
            request_id=op.op_id,
            tenant_id=self.input.tenant_id,
            network_id=self.input.network_id,
            network_name=self.input.network_name,
            port_id=self.input.port_id,
            state=self.state,
            iface_id=attachment.iface_id if attachment else None,
            host=attachment.host if attachment else None,
            extra=dict(self.network_data),
        )

    def _target(self, op: Operation) -> ActionTarget:
        return ActionTarget(self.resource_type, self.resource_id, op.seq, cancelled=lambda: self.cancel_requested)
