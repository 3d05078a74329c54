"""Every statement the API runs on networks: the claim each write makes on the row (in the
caller's transaction: the caller accepts the operation and commits) and the undo of that claim,
run when the workflow engine never got the operation. Keyword-only, session first."""

from collections.abc import Sequence

from sqlalchemy import exists, select, update
from sqlmodel import Session

from netprov.status import PROVISIONING
from store.effective import effective_status_column
from store.operations import forget_unstarted
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


def create(session: Session, *, network_id: str, tenant_id: str, name: str, plugin: str) -> NetworkRow:
    """Insert the row (flushed: IntegrityError here when `network_id` exists, i.e. an
    Idempotency-Key race lost)."""
    row = NetworkRow(id=network_id, tenant_id=tenant_id, name=name, plugin=plugin, status=PROVISIONING)
    session.add(row)
    session.flush()
    return row


def undo_create(session: Session, *, network_id: str) -> None:
    """Remove a network whose creation never reached its workflow, with its operations and key."""
    forget_unstarted(session, resource_type="network", resource_id=network_id)


def rename(session: Session, *, network_id: str, name: str) -> None:
    """A rename touches no device: it is the whole write."""
    session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(name=name, updated_at=utcnow()))


def has_attachments(session: Session, *, network_id: str) -> bool:
    """True when a port of the network has an attachment (accepted or plugged): NetworkInUse."""
    return bool(
        session.execute(select(exists().where(PortRow.network_id == network_id, PortRow.attachment_id.is_not(None)))).scalar()
    )


def claim_delete(session: Session, *, network_id: str) -> list[str] | None:
    """Mark the network and its ports deleting; return the ports' ids, or None when another
    DELETE holds the claim already."""
    claimed = session.execute(
        update(NetworkRow).where(NetworkRow.id == network_id, NetworkRow.deleting == False).values(deleting=True)  # noqa: E712
    ).rowcount
    if not claimed:
        return None
    ports = list(
        session.execute(select(PortRow.id).where(PortRow.network_id == network_id, PortRow.deleting == False)).scalars()  # noqa: E712
    )
    if ports:
        session.execute(update(PortRow).where(PortRow.id.in_(ports)).values(deleting=True))
    return ports


def undo_delete(session: Session, *, network_id: str, port_ids: Sequence[str]) -> None:
    session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(deleting=False))
    if port_ids:
        session.execute(update(PortRow).where(PortRow.id.in_(list(port_ids))).values(deleting=False))
