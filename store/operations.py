"""The outbox's rows: every accepted write is recorded as an operation in the same transaction as
the resource change it goes with, then delivered to the resource's workflow (api/outbox.py sweeps
the ones a crash left undelivered)."""

import uuid
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from netprov.operations import OpKind
from store import events
from store.effective import table_for
from store.tables import IdempotencyRow, NetworkRow, OperationRow, PortRow, utcnow

# The sequence number of a resource's first operation (its CREATE).
FIRST_SEQ = 1


def accept(
    session: Session,
    *,
    resource_type: str,
    resource_id: str,
    tenant_id: str,
    kind: OpKind,
    op_id: str | None = None,
    progress: str | None = None,
    **payload,
) -> OperationRow:
    """Take the resource's next sequence number and record the operation (caller commits).
    `progress` becomes the status_reason while the operation waits, unless others are ahead."""
    table = table_for(resource_type)
    values: dict = {"accepted_seq": table.accepted_seq + 1, "updated_at": utcnow()}
    if progress:
        values["progress"] = case((table.accepted_seq == table.applied_seq, progress), else_=table.progress)
    current = session.execute(
        update(table).where(table.id == resource_id).values(**values).returning(*table.__table__.c)
    ).one()
    row = _operation(resource_type, resource_id, tenant_id, current.accepted_seq, kind, op_id, payload)
    session.add(row)
    # Callers watching GET .../events see the resource turn PROVISIONING in this same commit.
    events.record_state(session, resource_type, resource_id, current=current)
    return row


def accept_create(
    session: Session,
    row: NetworkRow | PortRow,
    *,
    resource_type: str,
    tenant_id: str,
    op_id: str | None = None,
    **payload,
) -> OperationRow:
    """`accept` of the CREATE of a resource whose row this transaction has just inserted with
    `new_resource_values` (caller commits): its operation takes sequence number 1, already in the
    row, so the create spares accept's UPDATE ... RETURNING."""
    assert row.accepted_seq == FIRST_SEQ, "the row must come from new_resource_values"
    op = _operation(resource_type, row.id, tenant_id, FIRST_SEQ, OpKind.CREATE, op_id, payload)
    session.add(op)
    events.record_state(session, resource_type, row.id, current=row)
    return op


def new_resource_values(progress: str) -> dict:
    """The columns of a new network or port row whose CREATE is accepted with it (accept_create):
    what `accept` would have set on a row with no operation yet."""
    return {"accepted_seq": FIRST_SEQ, "progress": progress}


def _operation(
    resource_type: str, resource_id: str, tenant_id: str, seq: int, kind: OpKind, op_id: str | None, payload: dict
) -> OperationRow:
    return OperationRow(
        op_id=op_id or str(uuid.uuid4()),
        resource_type=resource_type,
        resource_id=resource_id,
        tenant_id=tenant_id,
        seq=seq,
        kind=kind.value,
        payload={k: v for k, v in payload.items() if v is not None},
    )


def mark_delivered(engine: Engine, op_ids: list[str]) -> None:
    with Session(engine) as session:
        session.execute(update(OperationRow).where(OperationRow.op_id.in_(op_ids)).values(delivered=True))
        session.commit()


def void(engine: Engine, op_id: str) -> None:
    """Withdraw an accepted operation that could not be delivered: it stays in the outbox as a
    no-op, so the workflow's sequence has no gap once the engine is back."""
    with Session(engine) as session:
        session.execute(update(OperationRow).where(OperationRow.op_id == op_id).values(kind=OpKind.VOID.value, payload={}))
        session.commit()


def forget_unstarted(session: Session, *, resource_type: str, resource_id: str) -> None:
    """Remove a resource whose creation never reached its workflow: its row, its operations and
    the Idempotency-Key that named it (the undo of a create)."""
    table = table_for(resource_type)
    session.execute(OperationRow.__table__.delete().where(OperationRow.resource_id == resource_id))
    session.execute(IdempotencyRow.__table__.delete().where(IdempotencyRow.resource_id == resource_id))
    session.execute(table.__table__.delete().where(table.id == resource_id))


def accept_many_rows(
    session: Session,
    *,
    resource_type: str,
    resource_ids: list[str],
    tenant_id: str,
    kind: OpKind,
    progress: str | None = None,
    **payload,
) -> tuple[list[OperationRow], dict[str, Any]]:
    """`accept` for many resources of one type with one payload (a fan-out: one operation per port),
    in a few statements per 500 resources instead of several per resource; operations in the order
    of `resource_ids` (caller commits). Resources that no longer exist get no operation. Also
    returns the resources' rows as the statement that took their sequence numbers left them, by id
    (what a caller decides from them holds: no other write came in between)."""
    table = table_for(resource_type)
    values: dict = {"accepted_seq": table.accepted_seq + 1, "updated_at": utcnow()}
    if progress:
        values["progress"] = case((table.accepted_seq == table.applied_seq, progress), else_=table.progress)
    kept = {k: v for k, v in payload.items() if v is not None}
    ops: list[OperationRow] = []
    returned: dict[str, Any] = {}
    for start in range(0, len(resource_ids), 500):
        chunk = resource_ids[start : start + 500]
        rows = session.execute(
            update(table).where(table.id.in_(chunk)).values(**values).returning(*table.__table__.c),
            execution_options={"synchronize_session": False},
        ).all()
        current = {row.id: row for row in rows}
        returned |= current
        ops += [
            OperationRow(op_id=str(uuid.uuid4()), resource_type=resource_type, resource_id=rid, tenant_id=tenant_id,
                         seq=current[rid].accepted_seq, kind=kind.value, payload=dict(kept))  # fmt: skip
            for rid in chunk
            if rid in current
        ]
        events.record_states(session, resource_type, list(current), current=current)
    session.add_all(ops)
    return ops, returned
