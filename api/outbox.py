"""Accepted operations: recorded in the database in the same transaction as the resource change,
then delivered to the workflow. A crash between the two leaves an undelivered operation, which
the sweeper delivers; a workflow never applies one twice (it skips sequence numbers it has)."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.batch_flow import start_unstarted
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from store.operations import accept, mark_delivered, void
from store.tables import OperationRow, utcnow

# accept/void/mark_delivered live in store.operations; kept importable from here for the routes
# that still import them from the outbox (admin, batches).
__all__ = ["accept", "mark_delivered", "sweep_forever", "sweep_once", "void"]

log = logging.getLogger("netprov.api.outbox")
SWEEP_INTERVAL = 2.0
# Operations younger than this are still being delivered by the request that accepted them.
SWEEP_GRACE = timedelta(seconds=3)
SWEEP_BATCH = 500


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
