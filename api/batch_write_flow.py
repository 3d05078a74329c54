"""A batch's write flow, as api/write_flow.py is every other resource's: accept (plan the items,
store the batch in one transaction, start its workflow; undo and 503 when the engine cannot be
reached), cancel and retry.

`accept_batch` takes typed items, not HTTP: the v1.1 route and another dialect's (a Neutron bulk
create) call it alike.
"""

from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode

from api import idempotency
from api.batch_flow import start_batch
from api.batch_planning import plan_batch
from api.problems import BadRequest, InvalidBody
from api.workflow_gateway import RPC_TIMEOUT, EngineUnavailable, WorkflowGateway
from api.write_flow import engine_down, require_engine
from netprov.batch_requests import BatchSpec
from netprov.naming import batch_workflow_id
from netprov.settings import Settings
from netprov.status import BatchStatus, ResourceType
from store import batch_plan, batch_redrive
from store import batches as store
from store.tables import BatchRow


@dataclass(frozen=True)
class AcceptedBatch:
    batch_id: str
    # False when an earlier request with the same Idempotency-Key made it (nothing new was stored).
    created: bool


@dataclass(frozen=True)
class IdempotentRequest:
    """The Idempotency-Key of a request and the hash of what it asked (api/idempotency.py)."""

    key: str
    digest: str


async def accept_batch(
    engine: Engine,
    gateway: WorkflowGateway,
    settings: Settings,
    *,
    tenant_id: str,
    spec: BatchSpec,
    strict: bool = False,
    idempotent: IdempotentRequest | None = None,
    refs_are_ids: bool = False,
) -> AcceptedBatch:
    """Plan `spec` for `tenant_id`, store it and start its workflow; the batch's id.

    Raises what the planning raises (InvalidBody, nothing stored); ServiceUnavailable (503,
    nothing stored) when the engine cannot be reached. With `idempotent`, a second request with
    the same key and digest gets the first one's batch (created=False); with the same key and
    another digest, IdempotencyKeyReused. `refs_are_ids`: the ports' refs are fresh UUIDs the caller
    chose as their ids (the Neutron view's bulk create). The database work runs off the event loop,
    each step on a session of its own: no connection is held across an await.
    """
    earlier = await run_in_threadpool(_earlier, engine, tenant_id, idempotent)
    if earlier is not None:
        return AcceptedBatch(earlier, created=False)
    await require_engine(gateway)
    stored = await run_in_threadpool(store_batch, engine, settings, tenant_id, spec, idempotent, strict, refs_are_ids)
    if isinstance(stored, str):
        return AcceptedBatch(stored, created=False)
    batch, kinds = stored
    try:
        await start_batch(gateway, batch, kinds)
    except EngineUnavailable as error:
        await run_in_threadpool(_unstore, engine, batch.id)
        raise engine_down(error) from error
    return AcceptedBatch(batch.id, created=True)


def _earlier(engine: Engine, tenant_id: str, idempotent: IdempotentRequest | None) -> str | None:
    """The batch an earlier request with this Idempotency-Key made (422 when it asked otherwise)."""
    if idempotent is None:
        return None
    with Session(engine) as session:
        row = idempotency.find(session, tenant_id, idempotent.key, idempotent.digest)
        if row is None:
            return None
        if session.get(BatchRow, row.resource_id) is None:
            raise BadRequest("The batch created with this Idempotency-Key no longer exists.")
        return row.resource_id


def store_batch(
    engine: Engine, settings: Settings, tenant_id: str, spec: BatchSpec, idempotent: IdempotentRequest | None, strict: bool,
    refs_are_ids: bool = False,
) -> tuple[BatchRow, dict[str, int]] | str:
    """Plan and write the batch in one transaction, its workflow not started yet; the batch row and
    its item counts per kind, or the id of the batch a concurrent request with the same
    Idempotency-Key stored."""
    with Session(engine) as session:
        plan = plan_batch(session, spec, tenant_id=tenant_id, settings=settings, strict=strict, refs_are_ids=refs_are_ids)
        batch_id = idempotency.resource_id_for(tenant_id, idempotent.key if idempotent else None)
        batch = BatchRow(id=batch_id, tenant_id=tenant_id, status=BatchStatus.PROVISIONING.value)
        try:
            batch_plan.insert_batch(session, batch, plan)
            if idempotent:
                idempotency.record(session, tenant_id=tenant_id, key=idempotent.key, digest=idempotent.digest,
                                   resource_type=ResourceType.BATCH.value, resource_id=batch_id)
            session.commit()
        except IntegrityError:
            session.rollback()
            earlier = idempotency.find(session, tenant_id, idempotent.key, idempotent.digest) if idempotent else None
            if earlier is not None:
                return earlier.resource_id
            # Another request plugged one of these interfaces between planning and commit.
            raise InvalidBody("An interface of this batch was plugged into another port meanwhile; nothing was stored.") from None
        session.refresh(batch)
        session.expunge(batch)
        return batch, plan.kind_totals()


def _unstore(engine: Engine, batch_id: str) -> None:
    """Undo `store_batch` of a batch whose workflow could not be started."""
    with Session(engine) as session:
        batch_plan.remove_batch(session, batch_id)
        session.commit()


async def request_cancel(session: Session, gateway: WorkflowGateway, batch: BatchRow) -> None:
    """Record that the batch is cancelled and tell its run (the workflow ends what it has not applied
    yet). When the engine cannot be told, the cancellation is withdrawn: 503."""
    await require_engine(gateway)
    batch_redrive.request_cancel(session, batch.id, True)
    session.commit()
    if not batch.started:
        return  # the run that starts next (the sweeper's) reads cancel_requested
    try:
        client = await gateway.client()
        await client.get_workflow_handle(batch_workflow_id(batch.id)).signal("cancel", rpc_timeout=RPC_TIMEOUT)
    except (EngineUnavailable, RPCError) as error:
        if not (isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND):
            batch_redrive.request_cancel(session, batch.id, False)
            session.commit()
            raise engine_down(error) from error
        # No run: the one that starts next (the sweeper's) reads cancel_requested.


async def redrive_failed(session: Session, gateway: WorkflowGateway, batch: BatchRow) -> bool:
    """Re-drive the batch's failed items and start its next run; False (nothing changed) when no
    item can be re-driven. A retry stored but not started (engine down) is started by the sweeper."""
    await require_engine(gateway)
    if not batch_redrive.prepare_retry(session, batch):
        session.rollback()
        return False
    session.commit()
    try:
        await start_batch(gateway, batch, store.kind_totals(session, batch.id))
    except EngineUnavailable:
        pass  # a 2xx write is never lost: the outbox sweeper starts it once the engine is back
    return True
