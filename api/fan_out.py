"""Writes that reach many ports at once (a QoS policy's new rules, a network's new policy): one
operation per port, accepted in one transaction with the change. The operations of idle ports are
applied by one QoS fan-out batch (store/qos_fan_out.py), started right after the commit; the others
are delivered to their ports' workflows concurrently.

Unlike `write_flow.write`, a fan-out is never undone: once committed, its operations are in the
outbox, so an engine that becomes unreachable half-way (or an API that crashes) only delays the
rest: the sweeper delivers them (api/outbox.py), and a workflow skips a sequence number it has
already applied, so no port is skipped and none applies its operation twice. The engine is still
checked first (503, nothing written, when it is down), as for every write.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlmodel import Session

from api import admission
from api.batch_flow import start_batch
from api.db_threads import in_writer
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from api.write_flow import DB_RECHECK_SECONDS, Writer, require_engine
from netprov.batch import ItemKind
from store.effective import table_for
from store.qos_fan_out import FanOut
from store.tables import OperationRow

log = logging.getLogger("netprov.api")
# Signals in flight at once: enough to hide the engine's round trip, few enough not to swamp it.
DELIVERY_CONCURRENCY = 32


async def fan_out(writer: Writer, claim: Callable[[Session], FanOut]) -> FanOut:
    """Check the engine, run `claim` (the change plus its operations) and commit, start the batch,
    then deliver the rest. Without `Prefer: wait` the answer does not wait for the delivery (the
    operations are already durable in the outbox); with `Prefer: wait=N` it delivers, then holds
    until every operation is applied or N passes."""
    session = writer.session
    with admission.write_slot(writer.settings, writer.prefs.received_at):
        await require_engine(writer.gateway, session)
        started = time.monotonic()
        fanned = await in_writer(writer.engine, _claim_and_commit, session, claim)
    log.info("fan-out: %d operations accepted in %.3fs, %d of them for batch %s", len(fanned.ops),
             time.monotonic() - started, fanned.batch_ports, fanned.batch.id if fanned.batch else "-")  # fmt: skip
    if fanned.batch is not None:
        try:
            await start_batch(writer.gateway, fanned.batch, {ItemKind.QOS.value: fanned.batch_ports})
        except EngineUnavailable:
            log.warning("fan-out: batch %s left to the outbox sweeper to start (engine unreachable)", fanned.batch.id)
    if not writer.prefs.wait:
        _in_background(deliver_concurrently(writer.gateway, fanned.to_deliver))
        return fanned
    await deliver_concurrently(writer.gateway, fanned.to_deliver)
    await wait_all_applied(writer, fanned.ops)
    return fanned


def _claim_and_commit(session: Session, claim: Callable[[Session], FanOut]) -> FanOut:
    """The fan-out's one transaction (on a writer thread: it may wait for the database's write lock)."""
    try:
        fanned = claim(session)
        session.commit()
        return fanned
    except BaseException:
        session.rollback()
        raise


# Deliveries still running after their request was answered; held so that they are not collected.
_deliveries: set[asyncio.Task] = set()


def _in_background(delivery) -> None:
    task = asyncio.get_running_loop().create_task(delivery)
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def deliver_concurrently(gateway: WorkflowGateway, ops: Sequence[OperationRow]) -> int:
    """Deliver `ops` (at most one per resource) DELIVERY_CONCURRENCY at a time; return how many
    were. Those the engine refused (or not reached when the process stopped) stay undelivered for
    the outbox sweeper."""
    started = time.monotonic()
    try:
        delivered, engine_down = await gateway.deliver_many(list(ops), DELIVERY_CONCURRENCY)
    except EngineUnavailable:
        delivered, engine_down = [], True
    if delivered:
        gateway.mark_delivered_soon(delivered)
    if engine_down:
        log.warning("fan-out: %d of %d operations left to the outbox sweeper (engine unreachable)",
                    len(ops) - len(delivered), len(ops))  # fmt: skip
    log.info("fan-out: %d of %d operations delivered in %.3fs", len(delivered), len(ops), time.monotonic() - started)
    return len(delivered)


async def wait_all_applied(writer: Writer, ops: Sequence[OperationRow]) -> bool:
    """With `Prefer: wait=N`: hold until every operation is applied (or its resource is gone) or N
    passes, reading the rows (one query per 500) rather than asking 1,000 workflows. True when all were."""
    prefs = writer.prefs
    if not prefs.wait:
        return False
    deadline = prefs.received_at + prefs.wait
    waiting = {op.resource_id: op.seq for op in ops}
    by_type = {op.resource_id: op.resource_type for op in ops}
    while True:
        with Session(writer.engine) as session:
            for resource_type in set(by_type.values()):
                table = table_for(resource_type)
                ids = [rid for rid in waiting if by_type[rid] == resource_type]
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    applied = dict(session.execute(select(table.id, table.applied_seq).where(table.id.in_(chunk))).all())
                    for rid in chunk:
                        if applied.get(rid, waiting[rid]) >= waiting[rid]:
                            del waiting[rid]
        if not waiting:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(DB_RECHECK_SECONDS)
