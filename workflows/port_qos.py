"""QoS in the port workflow (a mixin of PortWorkflow): SET_QOS operations, and the APPLY_QOS that
follows every provisioning and every plug of a port a policy applies to.

`self.qos` is the port's effective policy as last accepted (an operation's `qos`: SET_QOS, and
CREATE/ATTACH when a policy applied then); None while no policy was ever named. Rules [] clear the
port (then qos_status returns to null). Applied with the plugin's APPLY_QOS steps (ovs: a central
record, then the host's agent enforces it on the interface), so a policy named before the network
or the interface exists is applied once they do, in the order accepted.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from netprov.operations import Operation, PluginAction
    from netprov.qos import QosSpec, clears
    from netprov.status import PortStatus, QosStatus
    from netprov.workflow_io import Projection
    from workflows.plugin_actions import ActionFailed, run_action
    from workflows.resource_loop import record


class PortQos:
    """Mixin of PortWorkflow; uses its `input`, `status`, `status_reason`, `_request`, `_target`."""

    qos: QosSpec | None = None

    def take_qos(self, op: Operation) -> None:
        """Remember the policy an operation carries (None: it carries none, the last one holds)."""
        if op.qos is not None:
            self.qos = op.qos

    def qos_pending(self) -> bool:
        """True when a policy applies (or is being removed) and must follow a provisioning or a plug."""
        return self.qos is not None and not (clears(self.qos) and self.status == PortStatus.PROVISIONING)

    async def set_qos(self, op: Operation) -> None:
        """SET_QOS: put `op.qos` on the port (its network must be provisioned first: `create`
        waited for it, and operations run in order). A port in ERROR has nothing to put it on."""
        self.take_qos(op)
        if self.status == PortStatus.ERROR:
            reason = f"port {self.resource_id} is in ERROR: {self.status_reason}"
            await self._qos_final(op, None if self.qos is None or clears(self.qos) else QosStatus.ERROR.value, reason)
            return
        await self.apply_qos(op)

    async def apply_qos(self, op: Operation) -> None:
        """APPLY_QOS of `self.qos` for operation `op`; the port's qos_status and reason follow."""
        spec = self.qos
        if spec is None:
            return
        if PluginAction.APPLY_QOS.value not in self.input.plan.steps:
            # A run started before QoS existed carries a plan without the action.
            await self._qos_final(op, QosStatus.ERROR.value, "the port's workflow predates QoS; retry the port")
            return
        done_status = None if clears(spec) else QosStatus.AVAILABLE.value
        done = Projection(self.resource_type, self.resource_id, op.seq,
                          {"qos_status": done_status, "qos_status_reason": None}, final=True)  # fmt: skip
        request = self._request(op)
        request.qos = spec
        try:
            await run_action(self.input.plan, PluginAction.APPLY_QOS, request, self._target(op), done)
        except ActionFailed as failure:
            await self._qos_final(op, QosStatus.ERROR.value, f"applying QoS policy {spec.policy_name!r} failed: {failure.reason}")

    def qos_fields(self, status: str | None, reason: str | None) -> dict:
        """Fields for another projection of the port (a failed plug): qos_status when a policy applies."""
        if self.qos is None or clears(self.qos):
            return {}
        return {"qos_status": status, "qos_status_reason": reason}

    def qos_following(self, where: str) -> dict:
        """Fields for the projection that ends a provisioning or plug an APPLY_QOS follows: the QoS
        is not enforced there yet (PROVISIONING), whatever an earlier operation left."""
        if not self.qos_pending() or self.qos is None:
            return {}
        return self.qos_fields(QosStatus.PROVISIONING.value, f"applying QoS policy {self.qos.policy_name!r} {where}".strip())

    async def _qos_final(self, op: Operation, status: str | None, reason: str | None) -> None:
        await record(
            Projection(self.resource_type, self.resource_id, op.seq,
                       {"status": self.status, "status_reason": self.status_reason,
                        "qos_status": status, "qos_status_reason": None if status is None else reason}, final=True)
        )  # fmt: skip
