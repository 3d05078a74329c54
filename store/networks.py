"""Every statement the API runs on networks: the claim each write makes on the row (in the
caller's transaction: the caller accepts the operation and commits) and the undo of that claim,
run when the workflow engine never got the operation. Keyword-only, session first."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy import update as sql_update
from sqlmodel import Session

from netprov.status import PROVISIONING
from store.effective import effective_status_column
from store.operations import forget_unstarted, new_resource_values
from store.tables import NetworkRow, PortRow, utcnow


def get(session: Session, *, network_id: str) -> NetworkRow | None:
    return session.get(NetworkRow, network_id)


def list_rows(session: Session, *, tenant_id: str, statuses: Sequence[str] = ()) -> list[NetworkRow]:
    """The tenant's networks, oldest first; only those whose effective status is in `statuses`
    when given."""
    query = select(NetworkRow).where(NetworkRow.tenant_id == tenant_id).order_by(NetworkRow.created_at, NetworkRow.id)
    if statuses:
        query = query.where(effective_status_column(NetworkRow).in_(list(statuses)))
    return list(session.execute(query).scalars().all())


# Columns a write may set besides the name (the Neutron view's network fields).
DETAILS = frozenset({"description", "tags"})


def create(
    session: Session,
    *,
    network_id: str,
    tenant_id: str,
    name: str,
    plugin: str,
    progress: str,
    details: Mapping[str, Any] = {},
) -> NetworkRow:
    """Insert the row with `details` (columns of DETAILS) and its CREATE accepted (`progress` its
    reason; the caller records the operation with store.operations.accept_create). Flushed:
    IntegrityError here when `network_id` exists, i.e. an Idempotency-Key race lost."""
    _check_columns(details)
    row = NetworkRow(id=network_id, tenant_id=tenant_id, name=name, plugin=plugin, status=PROVISIONING,
                     **new_resource_values(progress), **details)
    session.add(row)
    session.flush()
    return row


def undo_create(session: Session, *, network_id: str) -> None:
    """Remove a network whose creation never reached its workflow, with its operations and key."""
    forget_unstarted(session, resource_type="network", resource_id=network_id)


def update(session: Session, *, network_id: str, values: Mapping[str, Any]) -> None:
    """Rename, describe, tag: these touch no device, so the update is the whole write."""
    _check_columns({k: v for k, v in values.items() if k != "name"})
    if values:
        session.execute(sql_update(NetworkRow).where(NetworkRow.id == network_id).values(**values, updated_at=utcnow()))


def _check_columns(values: Mapping[str, Any]) -> None:
    unknown = set(values) - DETAILS
    assert not unknown, f"not network columns a write may set: {sorted(unknown)}"


def has_ports(session: Session, *, network_id: str, attached_only: bool) -> bool:
    """True when the network has a port not being deleted (`attached_only`: a port with an
    attachment, accepted or plugged): what makes a DELETE NetworkInUse, in the dialect's sense."""
    where = [PortRow.network_id == network_id, PortRow.deleting == False]  # noqa: E712
    if attached_only:
        where.append(PortRow.attachment_id.is_not(None))
    return bool(session.execute(select(exists().where(*where))).scalar())


def claim_delete(session: Session, *, network_id: str) -> tuple[list[str], list[str]] | None:
    """Mark the network and its ports deleting; return (the ports claimed now, every port of the
    network: those already being deleted on their own too, which the network's delete waits
    for), or None when another DELETE holds the claim already."""
    claimed = session.execute(
        sql_update(NetworkRow).where(NetworkRow.id == network_id, NetworkRow.deleting == False).values(deleting=True)  # noqa: E712
    ).rowcount
    if not claimed:
        return None
    rows = session.execute(select(PortRow.id, PortRow.deleting).where(PortRow.network_id == network_id)).all()
    ports = [port_id for port_id, deleting in rows if not deleting]
    if ports:
        session.execute(sql_update(PortRow).where(PortRow.id.in_(ports)).values(deleting=True))
    return ports, [port_id for port_id, _ in rows]


def undo_delete(session: Session, *, network_id: str, port_ids: Sequence[str]) -> None:
    session.execute(sql_update(NetworkRow).where(NetworkRow.id == network_id).values(deleting=False))
    if port_ids:
        session.execute(sql_update(PortRow).where(PortRow.id.in_(list(port_ids))).values(deleting=False))
