"""Finding a tenant's resources: another tenant's id is answered exactly like an unknown one.
Every dialect looks resources up here before it calls a write (api/writes/)."""

from sqlmodel import Session

from api.deps import check_uuid
from api.problems import NetworkNotFound, PortNotFound
from store.tables import NetworkRow, PortRow


def network_of(session: Session, tenant_id: str, network_id: str) -> NetworkRow:
    network_id = check_uuid(network_id, "network id")
    row = session.get(NetworkRow, network_id)
    if row is None or row.tenant_id != tenant_id:
        raise NetworkNotFound(f"Network {network_id} not found.")
    return row


def port_of(session: Session, tenant_id: str, network_id: str, port_id: str) -> PortRow:
    """The port on that network (v1.1 paths name both): NetworkNotFound first, then PortNotFound."""
    network = network_of(session, tenant_id, network_id)
    port_id = check_uuid(port_id, "port id")
    row = session.get(PortRow, port_id)
    if row is None or row.tenant_id != tenant_id or row.network_id != network.id:
        raise PortNotFound(f"Port {port_id} not found on network {network.id}.")
    return row


def tenant_port(session: Session, tenant_id: str, port_id: str) -> PortRow:
    """The tenant's port by its id alone (paths that do not name the network, as v2.0's)."""
    port_id = check_uuid(port_id, "port id")
    row = session.get(PortRow, port_id)
    if row is None or row.tenant_id != tenant_id:
        raise PortNotFound(f"Port {port_id} not found.")
    return row
