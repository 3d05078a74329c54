"""Accepted operations: recorded in the database in the same transaction as the resource change,
then delivered to the workflow. A crash between the two leaves an undelivered operation, which
the sweeper delivers; a workflow never applies one twice (it skips sequence numbers it has)."""

import asyncio
import logging
import uuid
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.batch_flow import start_unstarted
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from netprov.operations import OpKind
from store import events
from store.projection import table_for
from store.tables import OperationRow, utcnow

log = logging.getLogger("netprov.api.outbox")
SWEEP_INTERVAL = 2.0
# Operations younger than this are still being delivered by the request that accepted them.
SWEEP_GRACE = timedelta(seconds=3)
SWEEP_BATCH = 500


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
    seq = current.accepted_seq
    row = OperationRow(
        op_id=op_id or str(uuid.uuid4()),
        resource_type=resource_type,
        resource_id=resource_id,
        tenant_id=tenant_id,
        seq=seq,
        kind=kind.value,
        payload={k: v for k, v in payload.items() if v is not None},
    )
    session.add(row)
    # Callers watching GET .../events see the resource turn PROVISIONING in this same commit.
    events.record_state(session, resource_type, resource_id, current=current)
    return row


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


async def sweep_once(engine: Engine, gateway: WorkflowGateway) -> int:
    """Deliver operations that were accepted but never delivered; return how many were."""
    with Session(engine) as session:
        rows = session.execute(
            select(OperationRow)
            .where(OperationRow.delivered == False, OperationRow.accepted_at < utcnow() - SWEEP_GRACE)  # noqa: E712
            .order_by(OperationRow.accepted_at, OperationRow.seq)
            .limit(SWEEP_BATCH)
        ).scalars().all()
        for row in rows:
            session.expunge(row)
    if not rows:
        return 0
    try:
        # A dead server makes each delivery retry for seconds: probe once, quickly, instead.
        await gateway.ensure_reachable()
    except EngineUnavailable:
        return 0
    delivered = []
    for row in rows:
        try:
            if not await gateway.deliver(row):
                continue  # held by a batch until it has settled the resource
        except EngineUnavailable:
            break
        delivered.append(row.op_id)
    if delivered:
        mark_delivered(engine, delivered)
        log.info("outbox: delivered %d operations left undelivered", len(delivered))
    return len(delivered)


async def sweep_forever(engine: Engine, gateway: WorkflowGateway) -> None:
    while True:
        try:
            await sweep_once(engine, gateway)
            await start_unstarted(engine, gateway)
        except Exception:  # noqa: BLE001 - the sweeper must outlive a database hiccup
            log.exception("outbox sweep failed")
        await asyncio.sleep(SWEEP_INTERVAL)
