"""Network writes: create, rename (and describe, tag), delete."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from api import idempotency
from api.problems import BadRequest, InvalidBody, NetworkInUse, ResourceNotAvailable
from api.write_flow import Accepted, Writer, Written, settle, write, write_create
from netprov.operations import OpKind
from netprov.resources import NetworkCreate, NetworkUpdate
from netprov.status import NetworkStatus, ResourceType
from plugins.registry import UnknownPluginError, plugin_class
from api.writes import port_qos
from store import networks, qos_policies
from store.effective import effective_status
from store.operations import accept, accept_create
from store.tables import NetworkRow

NETWORK = ResourceType.NETWORK.value
PORT = ResourceType.PORT.value


class InUse(StrEnum):
    """Which ports make a network's DELETE NetworkInUse: the rule differs per dialect."""

    ATTACHED_PORTS = "attached_ports"  # Quantum v1.1: ports with an attachment (the others go with it)
    ANY_PORT = "any_port"  # Neutron v2.0: any port not already being deleted


async def create_network(
    writer: Writer,
    *,
    tenant_id: str,
    network: NetworkCreate,
    idempotency_key: str | None = None,
    details: Mapping[str, Any] = {},
) -> Written:
    """A new network (PROVISIONING) and its create operation; with `idempotency_key`, the network
    an earlier request with that key made (`replay`), or IdempotencyKeyReused when its body differed.
    `network.plugin` None: the server's default. An unknown plugin is BadRequest. `details`:
    columns of store.networks.DETAILS (description, tags)."""
    idempotency.check_key(idempotency_key)
    chosen = network.plugin or writer.settings.plugin
    try:
        plugin_class(chosen)
    except UnknownPluginError as error:
        raise BadRequest(str(error)) from None
    policy = port_qos.named_policy(writer, tenant_id, network.qos_policy_id)
    # The v1.1 request as it was hashed before there was a second dialect (and QoS): stored keys keep matching.
    hashed = network.model_dump(exclude=set() if policy is not None else {"qos_policy_id"})
    asked = {"network": hashed} | ({"details": dict(details)} if details else {})
    digest = idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/networks", asked)
    network_id = idempotency.resource_id_for(tenant_id, idempotency_key)

    def claim(session) -> Accepted:
        row = networks.create(session, network_id=network_id, tenant_id=tenant_id, name=network.name, plugin=chosen,
                              progress="accepted; provisioning will start shortly", details=details)
        if policy is not None:
            qos_policies.set_network_policy(session, network_id=network_id, policy_id=policy.id)
        op = accept_create(session, row, resource_type=NETWORK, tenant_id=tenant_id,
                           op_id=f"{network_id}:create" if idempotency_key else None)  # fmt: skip
        idempotency.record_if_keyed(session, tenant_id, idempotency_key, digest, NETWORK, network_id)
        return Accepted([op], lambda cleanup: networks.undo_create(cleanup, network_id=network_id), row)

    def replay() -> Written | None:
        return idempotency.replay(writer.session, tenant_id, idempotency_key, digest, networks.get, "network_id")

    return await write_create(writer, resource_type=NETWORK, resource_id=network_id, claim=claim, replay=replay)


def update_network(
    writer: Writer, *, network: NetworkRow, update: NetworkUpdate | None = None, details: Mapping[str, Any] = {}
) -> None:
    """A rename (and `details`, columns of store.networks.DETAILS) touches no device: applied at
    once (strict handling: only on an AVAILABLE network). A new qos_policy_id is
    `port_qos.set_network_policy` (the route calls it after this)."""
    status = effective_status(network)[0]
    if writer.strict and status != NetworkStatus.AVAILABLE:
        raise ResourceNotAvailable(f"Network {network.id} is {status}; strict handling refuses changes until it is AVAILABLE.")
    name = update.name if update is not None else None
    if name is None and not details and (update is None or "qos_policy_id" not in update.model_fields_set):
        raise InvalidBody("Nothing to update: give name and/or qos_policy_id.")
    networks.update(writer.session, network_id=network.id, values=dict(details) | ({"name": name} if name is not None else {}))
    writer.session.commit()


async def delete_network(writer: Writer, *, network: NetworkRow, in_use: InUse = InUse.ATTACHED_PORTS) -> Written:
    """Delete the network and the ports it still has (`in_use` says which ports refuse the DELETE:
    NetworkInUse); cancels provisioning. The network goes after every port of it, those being
    deleted on their own included. A DELETE repeated while one runs waits for that one. `row`
    None once gone."""
    if network.deleting:
        return await _deleting(writer, network)
    if networks.has_ports(writer.session, network_id=network.id, attached_only=in_use == InUse.ATTACHED_PORTS):
        if in_use == InUse.ATTACHED_PORTS:
            raise NetworkInUse(f"Network {network.id} still has ports with attachments; detach them first.")
        raise NetworkInUse(f"Unable to complete operation on network {network.id}. There are one or more ports "
                           "still in use on the network.")
    tenant_id = network.tenant_id

    def claim(session) -> Accepted | None:
        claimed = networks.claim_delete(session, network_id=network.id)
        if claimed is None:
            return None
        ports, waited_for = claimed
        ops = [accept(session, resource_type=NETWORK, resource_id=network.id, tenant_id=tenant_id, kind=OpKind.DELETE,
                      progress="deleting", port_ids=waited_for)]  # fmt: skip
        ops += [
            accept(session, resource_type=PORT, resource_id=port_id, tenant_id=tenant_id, kind=OpKind.DELETE,
                   progress="deleting with its network")  # fmt: skip
            for port_id in ports
        ]
        return Accepted(ops, lambda cleanup: networks.undo_delete(cleanup, network_id=network.id, port_ids=ports))

    written = await write(writer, resource_type=NETWORK, resource_id=network.id, claim=claim)
    return written or await _deleting(writer, network)


async def _deleting(writer: Writer, network: NetworkRow) -> Written:
    return await settle(writer, resource_type=NETWORK, resource_id=network.id, seq=max(network.accepted_seq, 1))
