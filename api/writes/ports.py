"""Port writes: create, set the admin state (and the port's details), delete."""

from collections.abc import Mapping
from typing import Any

from api import idempotency
from api.problems import InvalidBody, MacAddressInUse, PortInUse, RequestedStateInvalid, ResourceNotAvailable
from api.write_flow import Accepted, Writer, Written, reread, settle, write, write_create
from api.writes import port_qos
from netprov.operations import OpKind
from netprov.resources import PortCreate, PortUpdate
from netprov.status import AdminState, NetworkStatus, PortStatus, ResourceType
from store import attachments, ports, qos_policies
from store.effective import effective_status
from store.operations import accept, accept_create
from store.tables import NetworkRow, PortRow

PORT = ResourceType.PORT.value
SETTLED_PORT = (PortStatus.ACTIVE, PortStatus.DOWN)


def admin_state(value: str | None) -> str:
    """The admin state asked for: None (absent) is DOWN; otherwise exactly ACTIVE or DOWN (the
    contract: case matters, `active` is RequestedStateInvalid)."""
    # Only an absent state defaults to DOWN: an empty string is an invalid state, not a default.
    state = AdminState.DOWN.value if value is None else value
    if state not in AdminState.__members__:
        raise RequestedStateInvalid(f"state {str(value)[:40]!r} is not ACTIVE or DOWN.")
    return state


def check_writable(writer: Writer, port: PortRow) -> None:
    """POST/PUT on a port: never while it is deleted; in strict handling only once it is settled."""
    if port.deleting:
        raise ResourceNotAvailable(f"Port {port.id} is being deleted.")
    status = effective_status(port)[0]
    if writer.strict and status not in SETTLED_PORT:
        raise ResourceNotAvailable(f"Port {port.id} is {status}; strict handling needs it ACTIVE or DOWN.")


async def create_port(
    writer: Writer,
    *,
    network: NetworkRow,
    port: PortCreate,
    idempotency_key: str | None = None,
    details: Mapping[str, Any] = {},
) -> Written:
    """A new port (PROVISIONING) on `network` with admin `port.state` (default DOWN). Refused
    (ResourceNotAvailable) on a network being deleted or in ERROR, and in strict handling on one
    not AVAILABLE. Idempotency-Key as for networks. `details`: columns of store.ports.DETAILS;
    a `mac_address` another port has is MacAddressInUse."""
    idempotency.check_key(idempotency_key)
    state = admin_state(port.state)
    network_status, network_reason = effective_status(network)
    if network.deleting:
        raise ResourceNotAvailable(f"Network {network.id} is being deleted.")
    if network_status == NetworkStatus.ERROR:
        raise ResourceNotAvailable(f"Network {network.id} is in ERROR ({network_reason}); no new ports on it.")
    if writer.strict and network_status != NetworkStatus.AVAILABLE:
        raise ResourceNotAvailable(f"Network {network.id} is {network_status}; strict handling needs it AVAILABLE.")
    tenant_id = network.tenant_id
    policy = port_qos.named_policy(writer, tenant_id, port.qos_policy_id)
    qos = port_qos.effective_spec(writer.session, policy, network)
    # The v1.1 request as it was hashed before there was a second dialect: stored keys keep matching.
    hashed: dict = {"state": state} if policy is None else {"state": state, "qos_policy_id": policy.id}
    asked = hashed | ({"details": dict(details)} if details else {})
    digest = idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/networks/{network.id}/ports", asked)
    port_id = idempotency.resource_id_for(tenant_id, idempotency_key)

    def claim(session) -> Accepted:
        try:
            row = ports.create(session, port_id=port_id, tenant_id=tenant_id, network_id=network.id, state=state,
                               progress="accepted; provisioning will start shortly", details=details)
        except ports.MacAddressTaken as taken:
            raise MacAddressInUse(f"Unable to complete operation for network {network.id}. The mac address {taken} "
                                  "is in use.") from None
        if policy is not None:
            qos_policies.set_port_policy(session, port_id=port_id, policy_id=policy.id)
        op = accept_create(session, row, resource_type=PORT, tenant_id=tenant_id,
                           op_id=f"{port_id}:create" if idempotency_key else None, state=state, qos=qos)  # fmt: skip
        if qos is not None:
            qos_policies.mark_qos_pending(session, port_ids=[port_id], reason=port_qos.applying(qos))
        idempotency.record_if_keyed(session, tenant_id, idempotency_key, digest, PORT, port_id)
        return Accepted([op], lambda cleanup: ports.undo_create(cleanup, port_id=port_id))

    def replay() -> Written | None:
        return idempotency.replay(writer.session, tenant_id, idempotency_key, digest, ports.get, "port_id")

    return await write_create(writer, resource_type=PORT, resource_id=port_id, claim=claim, replay=replay)


async def update_port(
    writer: Writer, *, port: PortRow, update: PortUpdate | None = None, details: Mapping[str, Any] = {}
) -> Written:
    """Set the admin state, the port's own QoS policy (api/writes/port_qos.py; the policy is looked
    up before anything is written) and `details` (columns of store.ports.UPDATABLE but the state;
    they touch no device, so alone they are applied at once). Asking for what is already asked is
    a no-op (`accepted` False; with `Prefer: wait` it waits for the operations already accepted)."""
    update = update or PortUpdate()
    sets_qos = "qos_policy_id" in update.model_fields_set
    if update.state is None and not sets_qos and not details:
        raise InvalidBody("Nothing to update: give state and/or qos_policy_id.")
    state = None if update.state is None else admin_state(update.state)
    policy = port_qos.named_policy(writer, port.tenant_id, update.qos_policy_id) if sets_qos else None
    check_writable(writer, port)
    if state is None and not details:
        return await port_qos.set_port_policy(writer, port=port, policy=policy)
    written = await _set_state(writer, port, state or port.state, details)
    if not sets_qos:
        return written
    fresh = ports.get(writer.session, port_id=port.id)
    if fresh is None:
        return written
    return await port_qos.set_port_policy(writer, port=fresh, policy=policy)


async def _set_state(writer: Writer, port: PortRow, state: str, details: Mapping[str, Any]) -> Written:
    changed = {name: value for name, value in details.items() if getattr(port, name) != value}
    if state == port.state:
        if changed:
            ports.update(writer.session, port=port, values=changed)
            writer.session.commit()
        if not writer.prefs.wait:
            return Written(reread(writer.engine, PORT, port.id) if changed else port, accepted=bool(changed))
        return await settle(writer, resource_type=PORT, resource_id=port.id, seq=port.accepted_seq)

    def claim(session) -> Accepted:
        previous = ports.update(session, port=port, values={"state": state, **changed})
        op = accept(session, resource_type=PORT, resource_id=port.id, tenant_id=port.tenant_id, kind=OpKind.UPDATE,
                    progress=f"setting admin state {state}", state=state)  # fmt: skip
        return Accepted([op], lambda cleanup: ports.undo_update(cleanup, port_id=port.id, previous=previous))

    written = await write(writer, resource_type=PORT, resource_id=port.id, claim=claim)
    assert written is not None
    return written


async def delete_port(writer: Writer, *, port: PortRow, unplug: bool = False) -> Written:
    """Delete a port without attachment; one with an attachment is PortInUse, or with `unplug`
    (Neutron's rule) unplugged and deleted in one write. A DELETE repeated while one runs waits
    for that one. `row` None once gone."""
    if port.attachment_id is not None and not unplug:
        raise PortInUse(f"Port {port.id} has attachment {port.attachment_id!r}; detach it first.")
    if not port.deleting:

        def claim(session) -> Accepted | None:
            old = attachments.claim_detach(session, port=port) if port.attachment_id is not None else None
            if port.attachment_id is not None and old is None:
                return None  # the attachment changed meanwhile: nothing claimed
            if not ports.claim_delete(session, port_id=port.id):
                return None
            ops = []
            if old is not None:
                ops.append(accept(session, resource_type=PORT, resource_id=port.id, tenant_id=port.tenant_id,
                                  kind=OpKind.DETACH, progress=f"unplugging interface {old.iface_id} to delete the port",
                                  iface_id=old.iface_id, host=old.host))  # fmt: skip
            ops.append(accept(session, resource_type=PORT, resource_id=port.id, tenant_id=port.tenant_id,
                              kind=OpKind.DELETE, progress="deleting"))  # fmt: skip

            def undo(cleanup) -> None:
                ports.undo_delete(cleanup, port_id=port.id)
                if old is not None:
                    attachments.undo_detach(cleanup, port_id=port.id, old=old)

            # The wait follows the DELETE; the operations are still delivered in the order accepted.
            return Accepted(ops[::-1], undo)

        written = await write(writer, resource_type=PORT, resource_id=port.id, claim=claim)
        if written is not None:
            return written
    return await settle(writer, resource_type=PORT, resource_id=port.id, seq=max(port.accepted_seq, 1))
