"""Writes of the status projection: how a workflow's progress reaches the resource rows."""

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from netprov.status import PROVISIONING, ResourceType
from netprov.workflow_io import NetworkSnapshot, Projection
from store import events
from store.tables import NetworkRow, OperationRow, PortRow, utcnow

_TABLES = {ResourceType.NETWORK: NetworkRow, ResourceType.PORT: PortRow}
QUEUED_REASON = "accepted; waiting for its workflow to apply it"


def table_for(resource_type: str):
    return _TABLES[ResourceType(resource_type)]


def apply_projection(engine: Engine, projection: Projection, extra: dict[str, Any] | None = None) -> bool:
    """Write `projection` (plus `extra` fields); return False when the row is gone or the write
    is stale (progress of an operation that has already finished)."""
    table = table_for(projection.resource_type)
    values: dict[str, Any] = {**projection.fields, **(extra or {}), "updated_at": utcnow()}
    where = [table.id == projection.resource_id]
    if projection.final:
        values["progress"] = None
        greatest = func.max if engine.dialect.name == "sqlite" else func.greatest
        values["applied_seq"] = greatest(table.applied_seq, projection.seq)
    else:
        where.append(table.applied_seq < projection.seq)
    with Session(engine) as session:
        result = session.execute(update(table).where(*where).values(**values))
        if result.rowcount > 0:
            events.record_state(session, projection.resource_type, projection.resource_id)
        session.commit()
        return result.rowcount > 0


def effective_status(row) -> tuple[str, str | None]:
    """The status and reason a caller sees: PROVISIONING while accepted operations are pending."""
    if row.accepted_seq > row.applied_seq:
        return PROVISIONING, row.progress or QUEUED_REASON
    return row.status, row.status_reason


def remove_resource(engine: Engine, resource_type: str, resource_id: str) -> None:
    """Delete a deprovisioned resource's row and its outbox entries."""
    table = table_for(resource_type)
    with Session(engine) as session:
        removed = session.execute(delete(table).where(table.id == resource_id).returning(*table.__table__.c)).first()
        if removed is not None:
            events.record_state(session, resource_type, resource_id, removed=removed)
        session.execute(delete(OperationRow).where(OperationRow.resource_id == resource_id))
        session.commit()


def network_snapshot(engine: Engine, network_id: str) -> NetworkSnapshot:
    with Session(engine) as session:
        row = session.get(NetworkRow, network_id)
        if row is None:
            return NetworkSnapshot(exists=False)
        status, reason = effective_status(row)
        return NetworkSnapshot(True, status, reason, row.applied_seq)


def applied_seq(engine: Engine, resource_type: str, resource_id: str) -> int:
    table = table_for(resource_type)
    with Session(engine) as session:
        value = session.execute(select(table.applied_seq).where(table.id == resource_id)).scalar()
        return value or 0


def port_count(engine: Engine, network_id: str) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(PortRow).where(PortRow.network_id == network_id)).scalar_one()

