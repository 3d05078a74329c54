"""Every write, written once: claim the row and accept the operation(s) in one transaction,
hand them to the resource's workflow, undo the claim when the engine is unreachable (503, nothing
half-written), honour `Prefer: wait=N` by waiting on the workflow (an update, not polling), and
re-read the row.

    write(writer, resource_type=..., resource_id=..., claim=...) -> Written | None

`claim(session)` makes the change through store/<resource>.py and store.operations.accept, and
returns `Accepted(ops, undo)`: `undo(session)` is the store function that takes the claim back
(the operations are voided here, after it). api/writes/ holds one claim per endpoint sentence;
both API dialects call those, never this module's parts one by one.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api import admission
from api.db_threads import in_writer
from api.deps import GatewayDep, Preferences, PreferencesDep, SessionDep, SettingsDep, strict_handling
from api.problems import ServiceUnavailable
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from netprov.settings import Settings
from store import events
from store.effective import table_for
from store.operations import mark_delivered, void
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

        def take_back() -> None:
            if delivered:
                mark_delivered(engine, delivered)
            undo()
            # Subscribers to GET .../events saw the write accepted: show them it was undone.
            events.resync(engine, resources)

        await in_writer(engine, take_back)
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


def empty_answer(status_code: int, prefs: Preferences) -> Response:
    """A write's answer without a body (204, 202), saying whether the wait was applied."""
    response = Response(status_code=status_code)
    preference_applied(response, prefs)
    return response


@dataclass
class Writer:
    """What a write needs of its request: the session (reads so far, nothing pending), the
    gateway, the caller's preferences and the settings. One per request (WriterDep)."""

    session: Session
    gateway: WorkflowGateway
    prefs: Preferences
    settings: Settings

    @property
    def engine(self) -> Engine:
        return self.session.get_bind()

    @property
    def strict(self) -> bool:
        return strict_handling(self.prefs, self.settings)


async def get_writer(session: SessionDep, gateway: GatewayDep, prefs: PreferencesDep, settings: SettingsDep) -> Writer:
    return Writer(session, gateway, prefs, settings)


WriterDep = Annotated[Writer, Depends(get_writer)]


@dataclass
class Accepted:
    """What a claim wrote: its operations (the first is the one a wait follows) and the store
    function that takes the claim back, given a fresh session (committed here)."""

    ops: Sequence[OperationRow]
    undo: Callable[[Session], None]
    row: Any = None


@dataclass(frozen=True)
class Written:
    """A write's outcome. `row`: the resource re-read after the wait (None once gone);
    `applied`: the wait saw the write's operation applied (False without `Prefer: wait`);
    `accepted`: something was written (False for a no-op or an idempotent replay);
    `replay`: the resource of an earlier request with the same Idempotency-Key;
    `claimed`: the row as the claim wrote it (for a create answered after a concurrent delete)."""

    row: Any
    applied: bool = False
    accepted: bool = True
    replay: bool = False
    claimed: Any = None

    @property
    def settled(self) -> bool:
        """Nothing accepted on the resource is still pending (a create answers 201)."""
        return self.row is not None and self.row.applied_seq >= self.row.accepted_seq


async def write(
    writer: Writer, *, resource_type: str, resource_id: str, claim: Callable[[Session], Accepted | None]
) -> Written | None:
    """Claim, accept, commit, deliver (undo + 503 when the engine is down), wait, re-read. None
    when `claim` found nothing to claim (it changed meanwhile; nothing was written). Exceptions
    from `claim` roll the transaction back and propagate."""
    session = writer.session
    engine = writer.engine
    with admission.write_slot(writer.settings, writer.prefs.received_at):
        await require_engine(writer.gateway, session)
        accepted = await in_writer(engine, _claim_and_commit, session, claim)
        if accepted is None:
            return None

        def undo() -> None:
            with Session(engine) as cleanup:
                accepted.undo(cleanup)
                cleanup.commit()
            for op in accepted.ops:
                void(engine, op.op_id)

        await deliver(writer.gateway, engine, list(accepted.ops), undo)
    applied = await wait_applied(writer.gateway, engine, resource_type, resource_id, accepted.ops[0].seq, writer.prefs)
    return Written(reread(engine, resource_type, resource_id), applied=applied, claimed=accepted.row)


def _claim_and_commit(session: Session, claim: Callable[[Session], Accepted | None]) -> Accepted | None:
    """The write's one transaction (on a writer thread: it may wait for the database's write lock)."""
    try:
        accepted = claim(session)
        if accepted is None:
            session.rollback()
            return None
        session.commit()
        return accepted
    except BaseException:
        session.rollback()
        raise


async def write_create(
    writer: Writer,
    *,
    resource_type: str,
    resource_id: str,
    claim: Callable[[Session], Accepted],
    replay: Callable[[], Written | None],
) -> Written:
    """A create under an optional Idempotency-Key: `replay()` gives the resource of an earlier
    request with the key (store ids derive from the key, so a concurrent request that wins the
    race makes this claim fail on the primary key: then its resource is the answer too)."""
    earlier = replay()
    if earlier is not None:
        return earlier
    try:
        written = await write(writer, resource_type=resource_type, resource_id=resource_id, claim=claim)
    except IntegrityError:
        earlier = replay()
        if earlier is None:
            raise
        return earlier
    assert written is not None  # a create's claim always claims
    return written


async def settle(writer: Writer, *, resource_type: str, resource_id: str, seq: int) -> Written:
    """No new write: wait (with `Prefer: wait`) for operation `seq` already accepted (a repeated
    DELETE, a PUT asking for what is already asked), then re-read."""
    engine = writer.engine
    writer.session.commit()  # no connection held across the wait
    applied = await wait_applied(writer.gateway, engine, resource_type, resource_id, seq, writer.prefs)
    return Written(reread(engine, resource_type, resource_id), applied=applied, accepted=False)


def reread(engine: Engine, resource_type: str, resource_id: str):
    """The resource's row as committed now (detached), or None when it is gone."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(table_for(resource_type), resource_id)
        if row is not None:
            session.expunge(row)
        return row
