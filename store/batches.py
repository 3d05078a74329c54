"""Batch queries: the batch and its items, written with the resources they make in one
transaction, read back as counts and items, and updated a chunk at a time by the batch workflow.

Every write here that touches many rows is one statement executed with many parameter sets
(executemany), inside one transaction: a chunk of 200 items costs one commit, not 200.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from netprov.batch import ItemKind
from netprov.operations import OpKind
from netprov.status import NO_ATTACHMENT, PROVISIONING, AttachmentStatus, BatchStatus, LinkStatus, NetworkStatus, PortStatus
from store import events
from store.projection import refresh_conditions
from store.tables import BatchItemRow, BatchRow, NetworkRow, OperationRow, PortRow, utcnow

ERROR = "ERROR"
CANCELLED = "cancelled: the batch was cancelled before this item was applied"
# Statuses an item can end in, per kind (PROVISIONING while it has not).
ITEM_STATUSES: dict[str, tuple[str, ...]] = {
    ItemKind.NETWORK: tuple(NetworkStatus),
    ItemKind.PORT: tuple(PortStatus),
    ItemKind.ATTACHMENT: tuple(AttachmentStatus),
}
_CHUNK = 500  # rows per IN (...) list, well under every database's parameter limit

_items = BatchItemRow.__table__
_networks = NetworkRow.__table__
_ports = PortRow.__table__
_ops = OperationRow.__table__


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _greatest(connection: Connection, column, value):
    return (func.max if connection.dialect.name == "sqlite" else func.greatest)(column, value)


# -- creating ------------------------------------------------------------------------------


def insert_batch(
    session: Session,
    batch: BatchRow,
    *,
    networks: list[dict],
    ports: list[dict],
    operations: list[dict],
    items: list[dict],
) -> None:
    """Insert a batch with its resources, their operations and its items (caller commits)."""
    session.add(batch)
    session.flush()
    connection = session.connection()
    for table, rows in ((_networks, networks), (_ports, ports), (_ops, operations), (_items, items)):
        for part in _chunks(rows, 1000):
            connection.execute(insert(table), part)
    # Callers watching GET .../events see every resource of the batch appear, PROVISIONING.
    _record_events(session, [("network", row["id"]) for row in networks] + [("port", row["id"]) for row in ports])


def _record_events(session: Session, resources: Iterable[tuple[str, str]]) -> None:
    """Live events (GET .../events) for the resources just written, in the same transaction."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for resource_type, resource_id in dict.fromkeys(resources):
        by_type[resource_type].append(resource_id)
    for resource_type, resource_ids in by_type.items():
        events.record_states(session, resource_type, resource_ids)


def remove_batch(session: Session, batch_id: str) -> None:
    """Undo `insert_batch` of a batch that never started (caller commits)."""
    connection = session.connection()
    resource_ids = list(connection.execute(select(_items.c.resource_id).where(_items.c.batch_id == batch_id)).scalars())
    for part in _chunks(sorted(set(resource_ids))):
        connection.execute(delete(_ops).where(_ops.c.resource_id.in_(part)))
    removed = [("port", r) for r in connection.execute(select(_ports.c.id).where(_ports.c.batch_id == batch_id)).scalars()]
    removed += [("network", r) for r in connection.execute(select(_networks.c.id).where(_networks.c.batch_id == batch_id)).scalars()]
    connection.execute(delete(_ports).where(_ports.c.batch_id == batch_id))
    connection.execute(delete(_networks).where(_networks.c.batch_id == batch_id))
    _record_events(session, removed)
    connection.execute(delete(_items).where(_items.c.batch_id == batch_id))
    connection.execute(delete(BatchRow.__table__).where(BatchRow.__table__.c.id == batch_id))


def plugged_ifaces(session: Session, iface_ids: list[str]) -> set[str]:
    """Those of `iface_ids` already plugged into a port (of any tenant)."""
    found: set[str] = set()
    for part in _chunks(iface_ids):
        found.update(session.execute(select(PortRow.attachment_id).where(PortRow.attachment_id.in_(part))).scalars())
    return found


def networks_by_id(session: Session, network_ids: list[str]) -> dict[str, NetworkRow]:
    rows: dict[str, NetworkRow] = {}
    for part in _chunks(network_ids):
        rows.update({row.id: row for row in session.execute(select(NetworkRow).where(NetworkRow.id.in_(part))).scalars()})
    return rows


# -- reading -------------------------------------------------------------------------------


def item_counts(connection: Connection | Session, batch_id: str) -> dict[str, dict[str, int]]:
    """{kind: {"total": n, status: n, ...}} with every status of the kind, zeros included."""
    counts = {kind.value: {"total": 0, PROVISIONING: 0} | dict.fromkeys(ITEM_STATUSES[kind], 0) for kind in ItemKind}
    rows = connection.execute(
        select(BatchItemRow.kind, BatchItemRow.status, func.count())
        .where(BatchItemRow.batch_id == batch_id)
        .group_by(BatchItemRow.kind, BatchItemRow.status)
    ).all()
    for kind, status, count in rows:
        counts[kind][status] = counts[kind].get(status, 0) + count
        counts[kind]["total"] += count
    return counts


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
    return list(
        session.execute(select(BatchRow).where(BatchRow.tenant_id == tenant_id).order_by(BatchRow.created_at, BatchRow.id)).scalars()
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
        session.expunge_all()
        return ChunkRows(
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
                values["applied_seq"] = _greatest(connection, table.c.applied_seq, bindparam("b_seq"))
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
        _record_events(session, [("network" if u.resource_table == _networks.name else "port", u.resource_id) for u in updates])
        session.commit()


def fail_items(engine: Engine, batch_id: str, positions: list[int], reason: str) -> None:
    """End items whose chunk could not run at all: ERROR with `reason`, their resources too."""
    rows = chunk_rows(engine, batch_id, positions)
    updates = []
    for item in rows.items:
        if item.status != PROVISIONING:
            continue
        if item.kind == ItemKind.NETWORK:
            fields = {"status": NetworkStatus.ERROR.value, "status_reason": reason}
            updates.append(ItemUpdate(item.position, ERROR, "networks", item.resource_id, item.op_seq, True, reason, item.attempts, fields))
        elif item.kind == ItemKind.PORT:
            fields = {"status": PortStatus.ERROR.value, "status_reason": reason}
            updates.append(ItemUpdate(item.position, ERROR, "ports", item.resource_id, item.op_seq, True, reason, item.attempts, fields))
        else:
            fields = {
                "attachment_status": AttachmentStatus.ERROR.value,
                "attachment_reason": reason,
                "link_status": LinkStatus.DOWN.value,
                "link_status_string": reason,
            }
            updates.append(ItemUpdate(item.position, ERROR, "ports", item.resource_id, item.op_seq, True, reason, item.attempts, fields))
    record_chunk(engine, batch_id, updates)


def settle_batch(engine: Engine, batch_id: str) -> tuple[BatchStatus, dict[str, dict[str, int]]]:
    """Store the batch's status as its items say; return it with the counts."""
    with Session(engine) as session:
        counts = item_counts(session, batch_id)
        status = batch_status(counts)
        session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(status=status.value, updated_at=utcnow()))
        session.commit()
        return status, counts


def request_cancel(session: Session, batch_id: str, cancel: bool = True) -> None:
    """Record (or, when the workflow could not be told, withdraw) a cancellation (caller commits)."""
    session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(cancel_requested=cancel))


def cancel_pending(engine: Engine, batch_id: str) -> int:
    """End every item not applied yet as cancelled; return how many.

    A resource the batch never provisioned is removed, with its operations, when nothing else was
    accepted on it since (its `accepted_seq` is the batch's last operation on it) and, for a
    network, no port is left on it. Otherwise it stays, in ERROR ("cancelled ..."), and its
    operations after the batch's run as usual. An attachment whose port was provisioned is
    withdrawn: the port stays, without attachment. Nothing that completed is undone.
    """
    now = utcnow()
    with Session(engine) as session:
        connection = session.connection()
        pending = connection.execute(
            select(_items).where(_items.c.batch_id == batch_id, _items.c.status == PROVISIONING).order_by(_items.c.position)
        ).mappings().all()
        if not pending:
            return 0
        connection.execute(
            update(_items)
            .where(_items.c.batch_id == batch_id, _items.c.status == PROVISIONING)
            .values(status=ERROR, error=CANCELLED)
        )
        touched: list[tuple[str, str, Any]] = []  # (resource type, id, the row when removed)
        # The last operation the batch put on each resource.
        last_seq: dict[str, int] = {}
        for row in connection.execute(select(_items.c.resource_id, _items.c.op_seq).where(_items.c.batch_id == batch_id)):
            last_seq[row.resource_id] = max(last_seq.get(row.resource_id, 0), row.op_seq)
        pending_ports = {r["resource_id"] for r in pending if r["kind"] == ItemKind.PORT}
        removed_ports: set[str] = set()
        for item in pending:
            rid, kind = item["resource_id"], item["kind"]
            if kind == ItemKind.PORT:
                port = connection.execute(select(_ports).where(_ports.c.id == rid)).first()
                if port is None:
                    continue
                if port.accepted_seq == last_seq[rid]:
                    connection.execute(delete(_ops).where(_ops.c.resource_id == rid))
                    connection.execute(delete(_ports).where(_ports.c.id == rid))
                    removed_ports.add(rid)
                    touched.append(("port", rid, port))
                else:
                    fields = {"status": PortStatus.ERROR.value, "status_reason": CANCELLED}
                    if connection.execute(select(_items.c.position).where(
                        _items.c.batch_id == batch_id, _items.c.kind == ItemKind.ATTACHMENT.value, _items.c.resource_id == rid
                    )).first():
                        fields |= {"attachment_status": AttachmentStatus.ERROR.value, "attachment_reason": CANCELLED}
                    connection.execute(
                        update(_ports).where(_ports.c.id == rid)
                        .values(**fields, progress=None, updated_at=now,
                                applied_seq=_greatest(connection, _ports.c.applied_seq, last_seq[rid]))
                    )
                    touched.append(("port", rid, None))
            elif kind == ItemKind.ATTACHMENT and rid not in pending_ports:
                connection.execute(
                    update(_ports).where(_ports.c.id == rid, _ports.c.attachment_id == item["iface_id"])
                    .values(attachment_id=None, attachment_host=None, attachment_status=None, attachment_reason=None,
                            link_status=LinkStatus.DOWN.value, link_status_string=NO_ATTACHMENT, progress=None, updated_at=now,
                            applied_seq=_greatest(connection, _ports.c.applied_seq, item["op_seq"]))
                )
                touched.append(("port", rid, None))
        for item in pending:
            if item["kind"] != ItemKind.NETWORK:
                continue
            rid = item["resource_id"]
            network = connection.execute(select(_networks).where(_networks.c.id == rid)).first()
            if network is None:
                continue
            has_ports = connection.execute(select(_ports.c.id).where(_ports.c.network_id == rid).limit(1)).first()
            if network.accepted_seq == last_seq[rid] and has_ports is None:
                connection.execute(delete(_ops).where(_ops.c.resource_id == rid))
                connection.execute(delete(_networks).where(_networks.c.id == rid))
                touched.append(("network", rid, network))
            else:
                touched.append(("network", rid, None))
                connection.execute(
                    update(_networks).where(_networks.c.id == rid)
                    .values(status=NetworkStatus.ERROR.value, status_reason=CANCELLED, progress=None, updated_at=now,
                            applied_seq=_greatest(connection, _networks.c.applied_seq, last_seq[rid]))
                )
        connection.execute(update(BatchRow.__table__).where(BatchRow.__table__.c.id == batch_id).values(updated_at=now))
        refresh_conditions(session, [rid for resource_type, rid, removed in touched if resource_type == "port" and removed is None])
        for resource_type, rid, removed in touched:
            events.record_state(session, resource_type, rid, removed=removed)
        session.commit()
        return len(pending)


def prepare_retry(session: Session, batch: BatchRow) -> int:
    """Put the batch's failed items back to work with a new operation each (a new request id for
    the plugin); return how many. Only items whose resource is as the batch left it are re-driven:
    still there, not being deleted, with no operation of its own pending (caller commits)."""
    connection = session.connection()
    failed = connection.execute(
        select(_items).where(_items.c.batch_id == batch.id, _items.c.status == ERROR).order_by(_items.c.position)
    ).mappings().all()
    retried = 0
    # Resources given a retry operation here: a port's attachment may follow its port.
    bumped: set[str] = set()
    for item in failed:
        kind, rid = item["kind"], item["resource_id"]
        table = _networks if kind == ItemKind.NETWORK else _ports
        row = connection.execute(select(table).where(table.c.id == rid)).mappings().first()
        if row is None or row["deleting"] or (row["accepted_seq"] != row["applied_seq"] and rid not in bumped):
            continue
        payload: dict[str, Any] = {"batch_id": batch.id}
        extra: dict[str, Any] = {}
        if kind == ItemKind.ATTACHMENT:
            if row["attachment_id"] != item["iface_id"]:
                continue
            op_kind = OpKind.ATTACH
            payload |= {"iface_id": item["iface_id"], "host": item["host"]}
            extra = {"attachment_status": AttachmentStatus.PROVISIONING.value, "attachment_reason": None}
        else:
            op_kind = OpKind.RETRY
        seq = row["accepted_seq"] + 1
        op_id = _new_op_id()
        connection.execute(
            update(table).where(table.c.id == rid)
            .values(accepted_seq=seq, progress=f"retrying in batch {batch.id}", updated_at=utcnow(), **extra)
        )
        connection.execute(
            insert(_ops),
            [{"op_id": op_id, "resource_type": "network" if kind == ItemKind.NETWORK else "port", "resource_id": rid,
              "tenant_id": batch.tenant_id, "seq": seq, "kind": op_kind.value, "payload": payload, "delivered": True,
              "accepted_at": utcnow()}],
        )
        connection.execute(
            update(_items).where(_items.c.batch_id == batch.id, _items.c.position == item["position"])
            .values(status=PROVISIONING, error=None, attempts=0, op_id=op_id, op_seq=seq)
        )
        bumped.add(rid)
        retried += 1
    _record_events(session, [("network" if i["kind"] == ItemKind.NETWORK else "port", i["resource_id"]) for i in failed if i["resource_id"] in bumped])
    return retried


def _new_op_id() -> str:
    return str(uuid.uuid4())
