"""Finding a tenant's resources: another tenant's id is answered exactly like an unknown one.
Every dialect looks resources up here before it calls a write (api/writes/)."""

from sqlmodel import Session

from api.deps import check_uuid
from api.problems import NetworkNotFound, PortNotFound, QosPolicyNotFound
from store.tables import NetworkRow, PortRow, QosPolicyRow


def network_of(session: Session, tenant_id: str, network_id: str) -> NetworkRow:
    network_id, row = _owned(session, NetworkRow, tenant_id, network_id, "network id")
    if row is None:
        raise NetworkNotFound(f"Network {network_id} not found.")
    return row


def port_of(session: Session, tenant_id: str, network_id: str, port_id: str) -> PortRow:
    """The port on that network (v1.1 paths name both): NetworkNotFound first, then PortNotFound."""
    network = network_of(session, tenant_id, network_id)
    port_id, row = _owned(session, PortRow, tenant_id, port_id, "port id")
    if row is None or row.network_id != network.id:
        raise PortNotFound(f"Port {port_id} not found on network {network.id}.")
    return row


def tenant_port(session: Session, tenant_id: str, port_id: str) -> PortRow:
    """The tenant's port by its id alone (paths that do not name the network, as v2.0's)."""
    port_id, row = _owned(session, PortRow, tenant_id, port_id, "port id")
    if row is None:
        raise PortNotFound(f"Port {port_id} not found.")
    return row


def qos_policy_of(session: Session, tenant_id: str, policy_id: str, what: str = "QoS policy id") -> QosPolicyRow:
    """The tenant's QoS policy, on its own paths and when a port or network names it in a body."""
    policy_id, row = _owned(session, QosPolicyRow, tenant_id, policy_id, what)
    if row is None:
        raise QosPolicyNotFound(f"QoS policy {policy_id} not found.")
    return row


def _owned(session: Session, table, tenant_id: str, value: str, what: str):
    """(the id in canonical form, the tenant's row with that id or None). BadRequest: not a UUID."""
    resource_id = check_uuid(value, what)
    row = session.get(table, resource_id)
    return resource_id, row if row is not None and row.tenant_id == tenant_id else None
