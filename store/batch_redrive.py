"""Cancelling and re-driving a batch's items: DELETE of a batch ends what it has not applied yet,
POST .../actions/retry puts its failed items back to work. Both leave alone what changed since
the batch touched it (a resource deleted, or with operations of its own)."""

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from netprov.batch import ItemKind
from netprov.operations import OpKind
from netprov.status import ERROR, NO_ATTACHMENT, PROVISIONING, AttachmentStatus, BatchStatus, LinkStatus, NetworkStatus, PortStatus
from store import batch_plan, events
from store.batches import CANCELLED, greatest, in_chunks, record_events
from store.projection import refresh_conditions
from store.tables import BatchItemRow, BatchRow, NetworkRow, OperationRow, PortRow, utcnow

_items = BatchItemRow.__table__
_networks = NetworkRow.__table__
_ports = PortRow.__table__
_ops = OperationRow.__table__


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
        # A port's SET_QOS that came with the batch (store/batch_plan.qos_op_id) is the batch's too.
        qos_ops = [batch_plan.qos_op_id(r["resource_id"]) for r in pending if r["kind"] == ItemKind.PORT]
        for part in in_chunks(qos_ops):
            for row in connection.execute(select(_ops.c.resource_id, _ops.c.seq).where(_ops.c.op_id.in_(part))):
                last_seq[row.resource_id] = max(last_seq.get(row.resource_id, 0), row.seq)
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
                                applied_seq=greatest(connection, _ports.c.applied_seq, last_seq[rid]))
                    )
                    touched.append(("port", rid, None))
            elif kind == ItemKind.ATTACHMENT and rid not in pending_ports:
                connection.execute(
                    update(_ports).where(_ports.c.id == rid, _ports.c.attachment_id == item["iface_id"])
                    .values(attachment_id=None, attachment_host=None, attachment_status=None, attachment_reason=None,
                            link_status=LinkStatus.DOWN.value, link_status_string=NO_ATTACHMENT, progress=None, updated_at=now,
                            applied_seq=greatest(connection, _ports.c.applied_seq, item["op_seq"]))
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
                            applied_seq=greatest(connection, _networks.c.applied_seq, last_seq[rid]))
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
    still there, not being deleted, with no operation of its own pending. When any is, the batch
row is made ready for its next run: generation + 1, not started, PROVISIONING (caller commits)."""
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
        op_id = str(uuid.uuid4())
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
    record_events(session, [("network" if i["kind"] == ItemKind.NETWORK else "port", i["resource_id"]) for i in failed if i["resource_id"] in bumped])
    if retried:
        # The next run of the batch's workflow, started like the first (by the request or the sweeper).
        batch.generation += 1
        batch.started = False
        batch.cancel_requested = False
        batch.status = BatchStatus.PROVISIONING.value
        batch.updated_at = utcnow()
        session.add(batch)
    return retried
