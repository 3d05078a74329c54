"""The second half of every write: hand the accepted operation to its workflow, undo the
database change when the engine is unreachable (503, nothing half-written), and honour
`Prefer: wait=N` by waiting on the workflow (an update), not by polling the engine."""

import asyncio
import time
from collections.abc import Callable

from fastapi import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import Preferences
from api.outbox import mark_delivered
from api.problems import ServiceUnavailable
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from store import events
from store.projection import table_for
from store.tables import OperationRow

RETRY_AFTER_SECONDS = 5
# How often a wait falls back to reading the database when no workflow run can be asked.
DB_RECHECK_SECONDS = 0.25


async def require_engine(gateway: WorkflowGateway, session: Session | None = None) -> None:
    """Refuse a write before anything is stored when the engine cannot be reached (503).
    `session` (with nothing pending: only reads so far) gives its connection back to the pool
    first, so that no connection is held across the await."""
    if session is not None:
        session.commit()
    try:
        await gateway.ensure_reachable()
    except EngineUnavailable as error:
        raise engine_down(error) from error


def engine_down(error: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The workflow engine cannot be reached ({str(error)[:200]}); nothing was changed. Retry later.",
        retry_after=RETRY_AFTER_SECONDS,
    )


async def deliver(
    gateway: WorkflowGateway, engine: Engine, ops: list[OperationRow], undo: Callable[[], None]
) -> None:
    """Deliver `ops` in order; when the engine is unreachable, run `undo` and answer 503."""
    delivered: list[str] = []
    resources = [(op.resource_type, op.resource_id) for op in ops]
    try:
        for op in ops:
            if await gateway.deliver(op):
                delivered.append(op.op_id)
    except EngineUnavailable as error:
        if delivered:
            mark_delivered(engine, delivered)
        undo()
        # Subscribers to GET .../events saw the write accepted: show them it was undone.
        events.resync(engine, resources)
        raise engine_down(error) from error
    if delivered:
        gateway.mark_delivered_soon(delivered)


async def wait_applied(
    gateway: WorkflowGateway, engine: Engine, resource_type: str, resource_id: str, seq: int, prefs: Preferences
) -> bool:
    """With `Prefer: wait=N`, hold until operation `seq` is applied or N seconds pass; True when
    it was applied. The resource row is re-read by the caller afterwards."""
    if not prefs.wait:
        return False
    deadline = prefs.received_at + prefs.wait
    remaining = deadline - time.monotonic()
    if remaining > 0 and await gateway.wait_applied(resource_type, resource_id, seq, remaining):
        return True
    # The update found no run to ask (it had finished: the row is final) or the wait is over.
    table = table_for(resource_type)
    while True:
        with Session(engine) as session:
            row = session.get(table, resource_id)
            if row is None or row.applied_seq >= seq:
                return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(DB_RECHECK_SECONDS)


def preference_applied(response: Response, prefs: Preferences) -> None:
    if prefs.wait is not None:
        response.headers["Preference-Applied"] = f"wait={prefs.wait}"
