"""Batch queries: the batch and its items read back as counts and items, and updated a chunk at a
time by the batch workflow. Writing a planned batch is store/batch_plan.py; cancelling and
re-driving its items, store/batch_redrive.py.

Every write here that touches many rows is one statement executed with many parameter sets
(executemany), inside one transaction: a chunk of 200 items costs one commit, not 200.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from netprov.batch import TOPOLOGY_KINDS, BatchPurpose, ItemKind
from netprov.status import ERROR, PROVISIONING, AttachmentStatus, BatchStatus, LinkStatus, NetworkStatus, PortStatus, QosStatus
from store import events
from store.projection import refresh_conditions
from store.tables import BatchItemRow, BatchRow, NetworkRow, OperationRow, PortRow, utcnow

CANCELLED = "cancelled: the batch was cancelled before this item was applied"
# Statuses an item can end in, per kind (PROVISIONING while it has not).
ITEM_STATUSES: dict[str, tuple[str, ...]] = {
    ItemKind.NETWORK: tuple(NetworkStatus),
    ItemKind.PORT: tuple(PortStatus),
    ItemKind.ATTACHMENT: tuple(AttachmentStatus),
    ItemKind.QOS: (QosStatus.AVAILABLE.value, QosStatus.ERROR.value),
}
_CHUNK = 500  # rows per IN (...) list, well under every database's parameter limit

_items = BatchItemRow.__table__
_networks = NetworkRow.__table__
_ports = PortRow.__table__


def in_chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def greatest(connection: Connection, column, value):
    """SQL max of a column and a value (GREATEST; SQLite spells it max)."""
    return (func.max if connection.dialect.name == "sqlite" else func.greatest)(column, value)


def record_events(session: Session, resources: Iterable[tuple[str, str]]) -> None:
    """Live events (GET .../events) for the resources just written, in the same transaction."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for resource_type, resource_id in dict.fromkeys(resources):
        by_type[resource_type].append(resource_id)
    for resource_type, resource_ids in by_type.items():
        events.record_states(session, resource_type, resource_ids)


# -- reading -------------------------------------------------------------------------------


def item_counts(connection: Connection | Session, batch_id: str) -> dict[str, dict[str, int]]:
    """{kind: {"total": n, status: n, ...}} with every status of the kind, zeros included: the
    topology kinds always, others (a QoS fan-out's) when the batch has such items."""
    counts = {kind.value: _zero_counts(kind) for kind in TOPOLOGY_KINDS}
    rows = connection.execute(
        select(BatchItemRow.kind, BatchItemRow.status, func.count())
        .where(BatchItemRow.batch_id == batch_id)
        .group_by(BatchItemRow.kind, BatchItemRow.status)
    ).all()
    for kind, status, count in rows:
        of_kind = counts.setdefault(kind, _zero_counts(ItemKind(kind)))
        of_kind[status] = of_kind.get(status, 0) + count
        of_kind["total"] += count
    return counts


def _zero_counts(kind: ItemKind) -> dict[str, int]:
    return {"total": 0, PROVISIONING: 0} | dict.fromkeys(ITEM_STATUSES[kind], 0)


def batch_status(counts: dict[str, dict[str, int]]) -> BatchStatus:
    """PROVISIONING while any item is; then COMPLETED (none failed), ERROR (all failed) or PARTIAL."""
    total = sum(c["total"] for c in counts.values())
    provisioning = sum(c.get(PROVISIONING, 0) for c in counts.values())
    failed = sum(c.get(ERROR, 0) for c in counts.values())
    if provisioning:
        return BatchStatus.PROVISIONING
    if failed == 0:
        return BatchStatus.COMPLETED
    return BatchStatus.ERROR if failed == total else BatchStatus.PARTIAL


def batch_items(session: Session, batch_id: str) -> list[BatchItemRow]:
    return list(
        session.execute(select(BatchItemRow).where(BatchItemRow.batch_id == batch_id).order_by(BatchItemRow.position)).scalars()
    )


def tenant_batches(session: Session, tenant_id: str) -> list[BatchRow]:
    """The topologies the tenant posted (not the QoS fan-outs netprov made for it)."""
    return list(
        session.execute(
            select(BatchRow)
            .where(BatchRow.tenant_id == tenant_id, BatchRow.purpose == BatchPurpose.TOPOLOGY.value)
            .order_by(BatchRow.created_at, BatchRow.id)
        ).scalars()
    )


def held_by_batch(session: Session, resource_id: str) -> bool:
    """True while a batch still has work to apply to the resource: operations accepted on it
    meanwhile wait (in the outbox) until the batch has settled it."""
    return (
        session.execute(
            select(BatchItemRow.position)
            .where(BatchItemRow.resource_id == resource_id, BatchItemRow.status == PROVISIONING)
            .limit(1)
        ).first()
        is not None
    )


def held_by_batches(session: Session, resource_ids: list[str]) -> set[str]:
    """`held_by_batch` for many resources: the ids among them a batch still holds (one query per 500)."""
    held: set[str] = set()
    for start in range(0, len(resource_ids), 500):
        chunk = resource_ids[start : start + 500]
        held.update(
            session.execute(
                select(BatchItemRow.resource_id)
                .where(BatchItemRow.resource_id.in_(chunk), BatchItemRow.status == PROVISIONING)
                .distinct()
            ).scalars()
        )
    return held


def kind_totals(session: Session, batch_id: str) -> dict[str, int]:
    """How many items of each kind the batch has."""
    rows = session.execute(
        select(BatchItemRow.kind, func.count()).where(BatchItemRow.batch_id == batch_id).group_by(BatchItemRow.kind)
    ).all()
    return {kind: count for kind, count in rows}


def unstarted_batches(session: Session, older_than) -> list[BatchRow]:
    """Batches accepted whose workflow run was never started (the API crashed in between)."""
    return list(
        session.execute(select(BatchRow).where(BatchRow.started == False, BatchRow.updated_at < older_than)).scalars()  # noqa: E712
    )


def mark_started(engine: Engine, batch_id: str, generation: int) -> None:
    with Session(engine) as session:
        session.execute(
            update(BatchRow).where(BatchRow.id == batch_id, BatchRow.generation == generation).values(started=True)
        )
        session.commit()


# -- the workflow's reads and writes -------------------------------------------------------


@dataclass
class PlanRows:
    cancel_requested: bool
    # PROVISIONING items: (position, kind, host, plugin), in position order.
    pending: list[tuple[int, str, str, str]]
    counts: dict[str, dict[str, int]]


def plan_rows(engine: Engine, batch_id: str) -> PlanRows | None:
    with Session(engine) as session:
        batch = session.get(BatchRow, batch_id)
        if batch is None:
            return None
        rows = session.execute(
            select(BatchItemRow.position, BatchItemRow.kind, BatchItemRow.host, NetworkRow.plugin)
            .join(NetworkRow, NetworkRow.id == func.coalesce(BatchItemRow.network_id, BatchItemRow.resource_id), isouter=True)
            .where(BatchItemRow.batch_id == batch_id, BatchItemRow.status == PROVISIONING)
            .order_by(BatchItemRow.position)
        ).all()
        pending = [(position, kind, host or "", plugin or "") for position, kind, host, plugin in rows]
        return PlanRows(batch.cancel_requested, pending, item_counts(session, batch_id))


@dataclass
class ChunkRows:
    """A chunk's items with the rows they act on, detached from any session."""

    items: list[BatchItemRow]
    networks: dict[str, NetworkRow]
    ports: dict[str, PortRow]
    # The batch items of the networks involved (those made by this batch), by network id.
    network_items: dict[str, BatchItemRow]
    # The batch items of the ports involved (for attachments), by port id.
    port_items: dict[str, BatchItemRow]
    # The QoS spec (netprov.qos.spec_to_dict) each QoS item's operation carries, by op_id.
    qos_specs: dict[str, dict[str, Any]] = field(default_factory=dict)


def chunk_rows(engine: Engine, batch_id: str, positions: list[int]) -> ChunkRows:
    with Session(engine) as session:
        items = list(
            session.execute(
                select(BatchItemRow).where(BatchItemRow.batch_id == batch_id, BatchItemRow.position.in_(positions))
                .order_by(BatchItemRow.position)
            ).scalars()
        )
        network_ids = {item.network_id or item.resource_id for item in items}
        port_ids = {item.resource_id for item in items if item.kind != ItemKind.NETWORK}
        networks = {row.id: row for row in session.execute(select(NetworkRow).where(NetworkRow.id.in_(network_ids))).scalars()}
        ports = {row.id: row for row in session.execute(select(PortRow).where(PortRow.id.in_(port_ids))).scalars()} if port_ids else {}
        related = session.execute(
            select(BatchItemRow).where(
                BatchItemRow.batch_id == batch_id,
                BatchItemRow.kind.in_([ItemKind.NETWORK.value, ItemKind.PORT.value]),
                BatchItemRow.resource_id.in_(network_ids | port_ids),
            )
        ).scalars().all()
        qos_ops = [item.op_id for item in items if item.kind == ItemKind.QOS]
        specs = session.execute(select(OperationRow.op_id, OperationRow.payload).where(OperationRow.op_id.in_(qos_ops))).all() if qos_ops else []
        session.expunge_all()
        return ChunkRows(
            qos_specs={op_id: (payload or {}).get("qos") or {} for op_id, payload in specs},
            items=items,
            networks=networks,
            ports=ports,
            network_items={r.resource_id: r for r in related if r.kind == ItemKind.NETWORK},
            port_items={r.resource_id: r for r in related if r.kind == ItemKind.PORT},
        )


@dataclass
class ItemUpdate:
    """What one item of a chunk came to. `final`: the item settled (status, error) and its
    operation `seq` is applied on the resource row. Otherwise only `progress` is written, and only
    while the operation is unfinished."""

    position: int
    status: str
    resource_table: str  # "networks" or "ports"
    resource_id: str
    seq: int
    final: bool
    error: str | None = None
    attempts: int = 0
    fields: dict[str, Any] = field(default_factory=dict)


def record_chunk(engine: Engine, batch_id: str, updates: list[ItemUpdate]) -> None:
    """Write a chunk's item statuses and resource projections in one transaction."""
    if not updates:
        return
    now = utcnow()
    with Session(engine) as session:
        connection = session.connection()
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for u in updates:
            key = (u.resource_table, u.final, tuple(sorted(u.fields)))
            groups[key].append({"b_id": u.resource_id, "b_seq": u.seq, **{f"b_{k}": v for k, v in u.fields.items()}})
        for (table_name, final, names), params in groups.items():
            table = _networks if table_name == _networks.name else _ports
            values: dict[str, Any] = {name: bindparam(f"b_{name}") for name in names}
            values["updated_at"] = now
            where = [table.c.id == bindparam("b_id")]
            if final:
                values["applied_seq"] = greatest(connection, table.c.applied_seq, bindparam("b_seq"))
                values["progress"] = None
            else:
                where.append(table.c.applied_seq < bindparam("b_seq"))
            connection.execute(update(table).where(*where).values(**values), params)
        item_params = [
            {"b_position": u.position, "b_status": u.status if u.final else PROVISIONING, "b_error": u.error, "b_attempts": u.attempts}
            for u in updates
        ]
        connection.execute(
            update(_items)
            .where(_items.c.batch_id == batch_id, _items.c.position == bindparam("b_position"))
            .values(status=bindparam("b_status"), error=bindparam("b_error"), attempts=bindparam("b_attempts")),
            item_params,
        )
        connection.execute(update(BatchRow.__table__).where(BatchRow.__table__.c.id == batch_id).values(updated_at=now))
        refresh_conditions(session, [u.resource_id for u in updates if u.resource_table == _ports.name and u.fields])
        record_events(session, [("network" if u.resource_table == _networks.name else "port", u.resource_id) for u in updates])
        session.commit()


def table_of(kind: ItemKind) -> str:
    """The table of the resource an item of `kind` acts on."""
    return _networks.name if kind == ItemKind.NETWORK else _ports.name


def error_fields(kind: ItemKind, reason: str) -> dict[str, Any]:
    """The resource columns of an item of `kind` that failed for `reason`."""
    if kind == ItemKind.NETWORK:
        return {"status": NetworkStatus.ERROR.value, "status_reason": reason}
    if kind == ItemKind.PORT:
        return {"status": PortStatus.ERROR.value, "status_reason": reason}
    if kind == ItemKind.QOS:
        return {"qos_status": QosStatus.ERROR.value, "qos_status_reason": reason}
    return {
        "attachment_status": AttachmentStatus.ERROR.value,
        "attachment_reason": reason,
        "link_status": LinkStatus.DOWN.value,
        "link_status_string": reason,
    }


def fail_items(engine: Engine, batch_id: str, positions: list[int], reason: str) -> None:
    """End items whose chunk could not run at all: ERROR with `reason`, their resources too."""
    rows = chunk_rows(engine, batch_id, positions)
    updates = []
    for item in rows.items:
        if item.status == PROVISIONING:
            kind = ItemKind(item.kind)
            updates.append(ItemUpdate(item.position, ERROR, table_of(kind), item.resource_id, item.op_seq, True, reason,
                                      item.attempts, error_fields(kind, reason)))
    record_chunk(engine, batch_id, updates)


def settle_batch(engine: Engine, batch_id: str) -> tuple[BatchStatus, dict[str, dict[str, int]]]:
    """Store the batch's status as its items say; return it with the counts."""
    with Session(engine) as session:
        counts = item_counts(session, batch_id)
        status = batch_status(counts)
        session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(status=status.value, updated_at=utcnow()))
        session.commit()
        return status, counts
