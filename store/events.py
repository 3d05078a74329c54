"""Live status events: an append-only log of what callers can observe change on a resource.

Every write that changes a resource's row calls `record_state` in the same transaction (the API
when it accepts an operation, the workflows' projection activities as operations are applied), so
an event exists exactly when its change is committed. `record_state` compares the row with the
last event recorded for the resource and appends one event per part that differs:

    network.status       status or status_reason of a network (as GET shows it)
    port.status          status or status_reason of a port
    port.link_status     link_status or link_status_string of a port
    port.qos_status      qos_status or qos_status_reason of a port (its QoS policy as enforced)
    attachment.status    the port's attachment: interface id, host, status, status_reason
    <type>.deleted       the network, port or attachment is gone

Event ids come from the table's autoincrement key, so they grow with commit order on SQLite (one
writer at a time). On PostgreSQL two transactions can commit out of id order; readers use
`EventHorizon`, which holds back ids past a gap until the gap is filled or `GAP_TIMEOUT` passes.

The table is bounded: events older than `RETENTION` and all but the newest `MAX_EVENTS` are
pruned by the writers every `PRUNE_EVERY` appends of a process. A subscriber resuming from an id
older than the oldest kept event is told so (`oldest_id`), and re-reads the resources.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, event, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from netprov.status import ResourceType
from store.effective import effective_qos, effective_status
from store.tables import EventRow, NetworkRow, PortRow, utcnow

log = logging.getLogger("netprov.store.events")

RETENTION = timedelta(hours=24)
MAX_EVENTS = 500_000
PRUNE_EVERY = 1000
# How long a reader waits for a missing id (a PostgreSQL transaction that has not committed yet)
# before it passes it by (a rolled-back insert leaves a gap for ever).
GAP_TIMEOUT = 2.0

NETWORK, PORT, ATTACHMENT = "network", "port", "attachment"
STATUS, LINK_STATUS, QOS_STATUS, DELETED = "status", "link_status", "qos_status", "deleted"
_PENDING_KEY = "netprov_events_appended"


def event_type(resource_type: str, kind: str) -> str:
    """The SSE `event:` name, e.g. `port.link_status`."""
    return f"{resource_type}.{kind}"


# -- writing ---------------------------------------------------------------------------------


def record_state(
    db: Session | Connection, resource_type: str, resource_id: str, removed: Any = None, current: Any = None
) -> int:
    """Append the events that bring the log up to the resource's current row; return how many.

    Call inside the transaction that changed the row, before commit. `removed` is the row the
    caller has just deleted (its columns), so the deletion is announced with the row's own tenant
    even when the resource's earlier events were pruned. When the row is gone and no `removed` is
    given, the deletion is announced from the resource's last events. `current` is the row as the
    caller's write left it (UPDATE ... RETURNING), which spares reading it again."""
    return record_states(
        db,
        resource_type,
        [resource_id],
        removed={resource_id: removed} if removed is not None else None,
        current={resource_id: current} if current is not None else None,
    )


def record_states(
    db: Session | Connection,
    resource_type: str,
    resource_ids: Sequence[str],
    removed: dict[str, Any] | None = None,
    current: dict[str, Any] | None = None,
) -> int:
    """`record_state` for many resources of one type, with two reads per 500 of them (for bulk
    writers such as batches). Works on an ORM session or a Core connection; with a session, this
    process's subscribers are woken right after the commit, otherwise by their next poll."""
    if isinstance(db, Session):
        db.flush()
    table = (NetworkRow if resource_type == ResourceType.NETWORK else PortRow).__table__
    removed, known = removed or {}, current or {}
    rows: list[dict] = []
    now = utcnow()
    for chunk in _chunks(list(dict.fromkeys(resource_ids))):
        unread = [rid for rid in chunk if rid not in removed and rid not in known]
        read = {row.id: row for row in db.execute(select(table).where(table.c.id.in_(unread)))} if unread else {}
        last = _last_events(db, chunk)
        for resource_id in chunk:
            row = removed.get(resource_id) or known.get(resource_id) or read.get(resource_id)
            own = last.get(resource_id, {})
            if row is None:
                tenant_id, wanted = _deletions_from(own, resource_type)
            else:
                tenant_id, wanted = row.tenant_id, _observed(resource_type, row, resource_id in removed, own)
            for key, kind, data, compared in wanted:
                previous = own.get(key)
                if kind == DELETED:
                    # Announce a deletion only of something announced and not yet deleted.
                    if previous is None or previous.kind == DELETED:
                        continue
                elif previous is not None and previous.kind == kind and all(
                    previous.data.get(k) == data.get(k) for k in compared
                ):
                    continue
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "resource_type": data["resource_type"],
                        "resource_id": resource_id,
                        "kind": kind,
                        "data": {**data, "at": now.isoformat()},
                        "created_at": now,
                    }
                )
    if rows:
        db.execute(insert(EventRow.__table__), rows)
        if isinstance(db, Session):
            db.info[_PENDING_KEY] = db.info.get(_PENDING_KEY, 0) + len(rows)
    return len(rows)


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def resync(engine: Engine, resources: Iterable[tuple[str, str]]) -> None:
    """Record the state of `resources` after a change made without `record_state` (e.g. the API
    undoing a write the workflow engine never received)."""
    with Session(engine) as session:
        for resource_type, resource_id in dict.fromkeys(resources):
            record_state(session, resource_type, resource_id)
        session.commit()


# (key in `_last_events`, kind, data, fields whose change makes a new event)
_Wanted = tuple[str, str, dict, tuple[str, ...]]
_STATUS_FIELDS = ("status", "status_reason")
_LINK_FIELDS = ("link_status", "link_status_string")
_ATTACHMENT_FIELDS = ("id", "host", "status", "status_reason")
_LINK_KEY = f"{PORT}.{LINK_STATUS}"
_QOS_FIELDS = ("qos_status", "qos_status_reason", "qos_policy_id")
_QOS_KEY = f"{PORT}.{QOS_STATUS}"


def _observed(resource_type: str, row: Any, gone: bool, last: dict[str, "_Last"]) -> list[_Wanted]:
    """What the row shows, as events to have recorded."""
    if resource_type == ResourceType.NETWORK:
        network = {"resource_type": NETWORK, "id": row.id, "name": row.name}
        if gone:
            return [(NETWORK, DELETED, {**network, "deleted": True}, ())]
        status, reason = effective_status(row)
        return [(NETWORK, STATUS, {**network, "status": status, "status_reason": reason}, _STATUS_FIELDS)]
    port = {"resource_type": PORT, "id": row.id, "network_id": row.network_id}
    if gone:
        return [(PORT, DELETED, {**port, "deleted": True}, ()), _attachment_gone(last, row)]
    status, reason = effective_status(row)
    port |= {
        "state": row.state,
        "status": status,
        "status_reason": reason,
        "link_status": row.link_status,
        "link_status_string": row.link_status_string,
    }
    wanted = [(PORT, STATUS, port, _STATUS_FIELDS), (_LINK_KEY, LINK_STATUS, port, _LINK_FIELDS)]
    qos, qos_reason = effective_qos(row)
    if qos is not None or _QOS_KEY in last:
        # Only ports a policy ever applied to announce their QoS (then also its return to null).
        qos_port = {**port, "qos_status": qos, "qos_status_reason": qos_reason, "qos_policy_id": row.qos_policy_id}
        wanted.append((_QOS_KEY, QOS_STATUS, qos_port, _QOS_FIELDS))
    if row.attachment_id is None:
        wanted.append(_attachment_gone(last, row))
    else:
        attachment = {
            "resource_type": ATTACHMENT,
            "id": row.attachment_id,
            "port_id": row.id,
            "network_id": row.network_id,
            "host": row.attachment_host,
            "status": row.attachment_status or "PROVISIONING",
            "status_reason": row.attachment_reason,
        }
        wanted.append((ATTACHMENT, STATUS, attachment, _ATTACHMENT_FIELDS))
    return wanted


def _attachment_gone(last: dict[str, "_Last"], row: Any) -> _Wanted:
    previous = last.get(ATTACHMENT)
    iface = previous.data.get("id") if previous is not None else getattr(row, "attachment_id", None)
    data = {"resource_type": ATTACHMENT, "id": iface, "port_id": row.id, "network_id": row.network_id, "deleted": True}
    return (ATTACHMENT, DELETED, data, ())


def _deletions_from(last: dict[str, "_Last"], resource_type: str) -> tuple[str, list[_Wanted]]:
    """The deletion events of a resource whose row vanished, from its last events."""
    own = last.get(resource_type)
    if own is None or own.kind == DELETED:
        return "", []
    data = own.data
    if resource_type == ResourceType.NETWORK:
        return own.tenant_id, [(NETWORK, DELETED, {"resource_type": NETWORK, "id": data["id"], "name": data.get("name"), "deleted": True}, ())]
    row = _Fields(id=data["id"], network_id=data.get("network_id"))
    port = {"resource_type": PORT, "id": data["id"], "network_id": data.get("network_id"), "deleted": True}
    return own.tenant_id, [(PORT, DELETED, port, ()), _attachment_gone(last, row)]


class _Last:
    __slots__ = ("kind", "data", "tenant_id")

    def __init__(self, kind: str, data: dict, tenant_id: str) -> None:
        self.kind, self.data, self.tenant_id = kind, data, tenant_id


class _Fields:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def _last_events_statement():
    events = EventRow.__table__
    newest = (
        select(func.max(events.c.id))
        .where(events.c.resource_id.in_(bindparam("resource_ids", expanding=True)))
        .group_by(events.c.resource_id, events.c.resource_type, events.c.kind)
    )
    return (
        select(events.c.resource_id, events.c.resource_type, events.c.kind, events.c.data, events.c.tenant_id)
        .where(events.c.id.in_(newest))
        .order_by(events.c.id)
    )


_LAST_EVENTS = _last_events_statement()  # built once: every write runs it, building it cost more than the query


def _last_events(db: Session | Connection, resource_ids: list[str]) -> dict[str, dict[str, _Last]]:
    """Per resource, the newest event of each subject: the network or port itself (status or
    deleted), a port's link, and a port's attachment."""
    rows = db.execute(_LAST_EVENTS, {"resource_ids": resource_ids}).all()
    last: dict[str, dict[str, _Last]] = {}
    for resource_id, subject, kind, data, tenant_id in rows:
        # Ascending ids: a later status or deleted event of a subject replaces the earlier one.
        key = _LINK_KEY if kind == LINK_STATUS else _QOS_KEY if kind == QOS_STATUS else subject
        last.setdefault(resource_id, {})[key] = _Last(kind, data, tenant_id)
    return last


# -- commit notification and pruning ---------------------------------------------------------

_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()
_appended_since_prune = itertools.count()


def on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the committing thread) after each commit in this process that
    appended events; returns a function that removes it."""
    with _listeners_lock:
        _listeners.append(callback)

    def remove() -> None:
        with _listeners_lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return remove


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    appended = session.info.pop(_PENDING_KEY, 0)
    if not appended:
        return
    with _listeners_lock:
        listeners = list(_listeners)
    for callback in listeners:
        try:
            callback()
        except Exception:  # noqa: BLE001 - a listener must not fail the writer's commit
            log.exception("event listener failed")
    engine = session.get_bind()
    for _ in range(appended):
        if next(_appended_since_prune) % PRUNE_EVERY == PRUNE_EVERY - 1:
            try:
                prune(engine)
            except Exception:  # noqa: BLE001 - pruning is housekeeping; the next round retries
                log.exception("pruning events failed")
            break


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def prune(engine: Engine, retention: timedelta = RETENTION, keep: int = MAX_EVENTS) -> int:
    """Delete events older than `retention` and all but the newest `keep`; return how many."""
    with Session(engine) as session:
        removed = session.execute(delete(EventRow).where(EventRow.created_at < utcnow() - retention)).rowcount
        newest = session.execute(select(func.max(EventRow.id))).scalar()
        if newest is not None and newest > keep:
            removed += session.execute(delete(EventRow).where(EventRow.id <= newest - keep)).rowcount
        session.commit()
    if removed:
        log.info("pruned %d events", removed)
    return removed


# -- reading ---------------------------------------------------------------------------------


def latest_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.max(EventRow.id))).scalar() or 0


def oldest_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.min(EventRow.id))).scalar() or 0


def ids_after(engine: Engine, after: int, limit: int = 10_000) -> list[int]:
    with Session(engine) as session:
        return list(
            session.execute(select(EventRow.id).where(EventRow.id > after).order_by(EventRow.id).limit(limit)).scalars()
        )


def tenant_events(engine: Engine, tenant_id: str, after: int, upto: int, limit: int = 500) -> list[EventRow]:
    """The tenant's events with `after` < id <= `upto`, oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(EventRow)
            .where(EventRow.tenant_id == tenant_id, EventRow.id > after, EventRow.id <= upto)
            .order_by(EventRow.id)
            .limit(limit)
        ).scalars().all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def resource_events(engine: Engine, resource_id: str, limit: int = 200) -> list[EventRow]:
    """The newest `limit` events of a resource (and of its attachment), oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(EventRow).where(EventRow.resource_id == resource_id).order_by(EventRow.id.desc()).limit(limit)
        ).scalars().all()
        for row in rows:
            session.expunge(row)
        return list(reversed(rows))


class EventHorizon:
    """The highest event id up to which every event is committed, as far as this reader can tell.

    Ids are handed out at insert and become visible at commit; on PostgreSQL a later id can
    commit first. `advance` moves the horizon over consecutive ids only, and over a missing id
    once it has been missing for `gap_timeout` seconds (a rolled-back insert never fills)."""

    def __init__(self, start: int, gap_timeout: float = GAP_TIMEOUT) -> None:
        self.value = start
        self.gap_timeout = gap_timeout
        self._gap_since: float | None = None

    def advance(self, committed_ids: list[int], now: float | None = None) -> bool:
        """Feed the ids after the horizon (ascending); return True when the horizon moved."""
        now = time.monotonic() if now is None else now
        before = self.value
        for event_id in committed_ids:
            if event_id <= self.value:
                continue
            if event_id != self.value + 1:
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < self.gap_timeout:
                    break
            self.value = event_id
            self._gap_since = None
        return self.value != before

    @property
    def waiting(self) -> bool:
        """A gap holds the horizon back: check again soon even without news."""
        return self._gap_since is not None
