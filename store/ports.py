"""Every statement the API runs on ports (the attachment's are in store/attachments.py): claims
in the caller's transaction (the caller accepts the operation and commits) and their undo, run
when the workflow engine never got the operation. Keyword-only, session first."""

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlmodel import Session

from netprov.status import NO_ATTACHMENT, PROVISIONING, LinkStatus
from store.effective import effective_status_column
from store.operations import forget_unstarted
from store.tables import PortRow


def get(session: Session, *, port_id: str) -> PortRow | None:
    return session.get(PortRow, port_id)


def list_rows(session: Session, *, network_id: str, statuses: Sequence[str] = (), full: bool = True) -> list[Row]:
    """The network's ports, oldest first, as plain rows (a network may have 10,000 ports: no ORM
    objects). `full`: every column; otherwise (id, state, status) with the effective status."""
    effective = effective_status_column(PortRow)
    columns = PortRow.__table__.columns if full else (PortRow.id, PortRow.state, effective.label("status"))
    query = select(*columns).where(PortRow.network_id == network_id).order_by(PortRow.created_at, PortRow.id)
    if statuses:
        query = query.where(effective.in_(list(statuses)))
    return list(session.connection().execute(query).all())


def create(session: Session, *, port_id: str, tenant_id: str, network_id: str, state: str) -> PortRow:
    """Insert the row (flushed: IntegrityError here when `port_id` exists, i.e. an
    Idempotency-Key race lost)."""
    row = PortRow(
        id=port_id,
        tenant_id=tenant_id,
        network_id=network_id,
        state=state,
        status=PROVISIONING,
        link_status=LinkStatus.DOWN.value,
        link_status_string=NO_ATTACHMENT,
    )
    session.add(row)
    session.flush()
    return row


def undo_create(session: Session, *, port_id: str) -> None:
    """Remove a port whose creation never reached its workflow, with its operations and key."""
    forget_unstarted(session, resource_type="port", resource_id=port_id)


def set_state(session: Session, *, port_id: str, state: str) -> None:
    """The admin state (ACTIVE/DOWN) as accepted; its own undo with the previous state."""
    session.execute(update(PortRow).where(PortRow.id == port_id).values(state=state))


def claim_delete(session: Session, *, port_id: str) -> bool:
    """Mark the port deleting unless it is already, or has an attachment; True when claimed."""
    return bool(
        session.execute(
            update(PortRow)
            .where(PortRow.id == port_id, PortRow.deleting == False, PortRow.attachment_id.is_(None))  # noqa: E712
            .values(deleting=True)
        ).rowcount
    )


def undo_delete(session: Session, *, port_id: str) -> None:
    session.execute(update(PortRow).where(PortRow.id == port_id).values(deleting=False))
