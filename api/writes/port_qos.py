"""Which QoS policy applies to a port, and the writes that change it: a port's own policy, a
network's policy (for its ports without one). Each accepted change is a SET_QOS operation in the
port's workflow carrying the port's effective policy (its own, else its network's; rules [] clear
the port), applied in the order accepted, after the provisioning and the plug it depends on.
"""

from typing import Any

from api.fan_out import fan_out
from api.lookups import qos_policy_of
from api.problems import ResourceNotAvailable
from api.write_flow import Accepted, Writer, Written, settle, write
from netprov.operations import OpKind
from netprov.qos import spec_to_dict
from netprov.status import NetworkStatus, ResourceType
from store import qos_fan_out, qos_policies
from store.effective import effective_status
from store.operations import accept_many_rows
from store.qos_fan_out import FanOut
from store.tables import NetworkRow, PortRow, QosPolicyRow

PORT = ResourceType.PORT.value


def named_policy(writer: Writer, tenant_id: str, policy_id: str | None) -> QosPolicyRow | None:
    """The policy a body names (None: none); QosPolicyNotFound for an unknown or another tenant's."""
    return None if policy_id is None else qos_policy_of(writer.session, tenant_id, policy_id, "qos_policy_id")


def effective_spec(session, own: QosPolicyRow | None, network: NetworkRow | None) -> dict[str, Any] | None:
    """The payload of the policy that applies to a port with policy `own` on `network`; None when none does."""
    policy = own
    if policy is None and network is not None and network.qos_policy_id:
        policy = qos_policies.get(session, policy_id=network.qos_policy_id)
    return None if policy is None else spec_to_dict(qos_policies.spec_of(policy))


def applying(spec: dict[str, Any]) -> str:
    """The qos_status_reason while `spec` is being applied."""
    if not spec.get("rules") and not spec.get("policy_id"):
        return "removing the QoS policy"
    return f"applying QoS policy {spec.get('policy_name')!r}"


def accept_qos(
    session, *, port_ids: list[str], tenant_id: str, spec: dict[str, Any], reason: str | None = None, batch_min: int | None = None
) -> FanOut:
    """One SET_QOS operation per port (a fan-out to 1,000 ports is a few statements), the ports'
    QoS PROVISIONING with `reason` until it is applied. With `batch_min`, the operations of idle
    ports are applied by one batch when there are at least that many (store/qos_fan_out.py)."""
    reason = reason or applying(spec)
    ops, rows = accept_many_rows(session, resource_type=PORT, resource_ids=port_ids, tenant_id=tenant_id, kind=OpKind.SET_QOS,
                                 progress=reason, qos=spec)  # fmt: skip
    qos_policies.mark_qos_pending(session, port_ids=port_ids, reason=reason)
    if batch_min is None:
        return FanOut(ops)
    return qos_fan_out.plan(session, ops, rows, min_ports=batch_min)


async def set_port_policy(writer: Writer, *, port: PortRow, policy: QosPolicyRow | None) -> Written:
    """Set (None: clear) the port's own policy. When the policy that applies changes, a SET_QOS
    operation applies it (a clear: the network's, or none); `Prefer: wait` waits until it is applied."""
    session = writer.session
    new_id = policy.id if policy is not None else None
    network = session.get(NetworkRow, port.network_id)
    before = qos_policies.effective_policy_id(port, network)
    after = new_id or (network.qos_policy_id if network is not None else None)
    if new_id == port.qos_policy_id or before == after:
        if new_id != port.qos_policy_id:
            # The same policy applies either way (the network's, now named by the port): nothing to enforce.
            qos_policies.set_port_policy(session, port_id=port.id, policy_id=new_id)
            session.commit()
            return Written(session.get(PortRow, port.id), accepted=False)
        if not writer.prefs.wait:
            return Written(port, accepted=False)
        return await settle(writer, resource_type=PORT, resource_id=port.id, seq=port.accepted_seq)
    spec = effective_spec(session, policy, network) or spec_to_dict(qos_policies.spec_of(None))
    previous = port.qos_policy_id

    def claim(claiming) -> Accepted:
        qos_policies.set_port_policy(claiming, port_id=port.id, policy_id=new_id)
        ops = accept_qos(claiming, port_ids=[port.id], tenant_id=port.tenant_id, spec=spec).ops
        # The op is voided on undo: once the VOID is applied the port's QoS shows as before.
        return Accepted(ops, lambda cleanup: qos_policies.set_port_policy(cleanup, port_id=port.id, policy_id=previous))

    written = await write(writer, resource_type=PORT, resource_id=port.id, claim=claim)
    assert written is not None
    return written


async def set_network_policy(writer: Writer, *, network: NetworkRow, policy: QosPolicyRow | None) -> FanOut | None:
    """Set (None: clear) the network's policy; its ports without one of their own get a SET_QOS
    operation each (api/fan_out.py). Strict handling: only on an AVAILABLE network."""
    status = effective_status(network)[0]
    if writer.strict and status != NetworkStatus.AVAILABLE:
        raise ResourceNotAvailable(f"Network {network.id} is {status}; strict handling refuses changes until it is AVAILABLE.")
    if network.deleting:
        raise ResourceNotAvailable(f"Network {network.id} is being deleted.")
    new_id = policy.id if policy is not None else None
    if new_id == network.qos_policy_id:
        writer.session.commit()
        return None
    spec = spec_to_dict(qos_policies.spec_of(policy))

    def claim(claiming) -> FanOut:
        qos_policies.set_network_policy(claiming, network_id=network.id, policy_id=new_id)
        ports = qos_policies.inheriting_ports(claiming, network_id=network.id)
        return accept_qos(claiming, port_ids=ports, tenant_id=network.tenant_id, spec=spec,
                          batch_min=writer.settings.qos_fan_out_batch_min_ports)  # fmt: skip

    return await fan_out(writer, claim)
