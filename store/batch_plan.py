"""A planned batch and the rows it becomes: what the planning (api/batch_planning.py) reads from
the database, the typed plan it makes, and the one transaction that writes the plan (the batch,
its items, the resources they make and those resources' operations) or undoes it.

The resources are ordinary network and port rows, PROVISIONING, each with its operations (CREATE
at seq 1; a port's attachment is an ATTACH at seq 2) marked delivered: the batch workflow applies
them, not the resources' own workflows. A port a QoS policy applies to also gets a SET_QOS after
those, not delivered: the outbox hands it to the port's own workflow once the batch has settled
the port.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from netprov.batch import ItemKind
from netprov.operations import OpKind
from netprov.status import NO_ATTACHMENT, PROVISIONING, AttachmentStatus, LinkStatus
from store.batches import in_chunks, record_events
from store.tables import BatchItemRow, BatchRow, IdempotencyRow, NetworkRow, OperationRow, PortRow, QosPolicyRow, utcnow

_items = BatchItemRow.__table__
_networks = NetworkRow.__table__
_ports = PortRow.__table__
_ops = OperationRow.__table__


@dataclass
class PlannedNetwork:
    ref: str
    id: str
    name: str
    plugin: str
    # The network row's other columns (netprov.batch_requests.BatchNetwork.columns).
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedAttachment:
    # The item's ref: its own, or its port's.
    ref: str
    iface_id: str
    host: str
    # What the plug waits on until the batch applies it (netprov.conditions.being_plugged or
    # waiting_for_network): the attachment's status_reason and the port's link_status_string, as
    # for an attachment accepted alone; never "no attachment".
    waiting_on: str = ""


@dataclass
class PlannedPort:
    ref: str
    id: str
    network_id: str
    # The port row's columns the request sets (netprov.batch_requests.BatchPort.columns).
    columns: dict[str, Any]
    attachment: PlannedAttachment | None = None
    # The QoS policy that applies (the port's own, else its existing network's) as an operation's
    # payload (netprov.qos.spec_to_dict), and the port's qos_status_reason until it is applied. The
    # batch does not apply it: a SET_QOS operation after the batch's does, in the port's own workflow
    # (held in the outbox until the batch has settled the port, then delivered by the sweeper),
    # exactly as a PUT qos_policy_id accepted during the batch would be.
    qos: dict[str, Any] | None = None
    qos_reason: str | None = None


@dataclass
class PlannedBatch:
    """A batch checked whole, ids chosen and defaults filled, in request order."""

    networks: list[PlannedNetwork] = field(default_factory=list)
    ports: list[PlannedPort] = field(default_factory=list)
    # Every attachment with the port it plugs into.
    attachments: list[tuple[PlannedAttachment, PlannedPort]] = field(default_factory=list)

    def kind_totals(self) -> dict[str, int]:
        return {ItemKind.NETWORK.value: len(self.networks), ItemKind.PORT.value: len(self.ports),
                ItemKind.ATTACHMENT.value: len(self.attachments)}

    def resource_ids(self) -> dict[str, str]:
        """Network and port refs -> the ids chosen for them."""
        return {n.ref: n.id for n in self.networks} | {p.ref: p.id for p in self.ports}


# -- what planning reads -------------------------------------------------------------------


def plugged_ifaces(session: Session, iface_ids: list[str]) -> set[str]:
    """Those of `iface_ids` already plugged into a port (of any tenant)."""
    found: set[str] = set()
    for part in in_chunks(iface_ids):
        found.update(session.execute(select(PortRow.attachment_id).where(PortRow.attachment_id.in_(part))).scalars())
    return found


def qos_op_id(port_id: str) -> str:
    """The op id of the SET_QOS a batch gives a port with a QoS policy: the batch's own operation, so
    a cancelled batch removes the port it never provisioned (store/batch_redrive.cancel_pending)."""
    return f"{port_id}:batch-qos"


def policies_by_id(session: Session, tenant_id: str, policy_ids: list[str]) -> dict[str, QosPolicyRow]:
    """Those of `policy_ids` that are QoS policies of `tenant_id`, by id."""
    rows: dict[str, QosPolicyRow] = {}
    for part in in_chunks(policy_ids):
        query = select(QosPolicyRow).where(QosPolicyRow.id.in_(part), QosPolicyRow.tenant_id == tenant_id)
        rows.update({row.id: row for row in session.execute(query).scalars()})
    return rows


def networks_by_id(session: Session, network_ids: list[str]) -> dict[str, NetworkRow]:
    rows: dict[str, NetworkRow] = {}
    for part in in_chunks(network_ids):
        rows.update({row.id: row for row in session.execute(select(NetworkRow).where(NetworkRow.id.in_(part))).scalars()})
    return rows


# -- writing -------------------------------------------------------------------------------


def insert_batch(session: Session, batch: BatchRow, plan: PlannedBatch) -> None:
    """Insert a batch with its items, the resources they make and their operations (caller commits)."""
    rows = _rows(plan, batch.id, batch.tenant_id)
    session.add(batch)
    session.flush()
    connection = session.connection()
    for table in (_networks, _ports, _ops, _items):
        for part in in_chunks(rows[table.name], 1000):
            connection.execute(insert(table), part)
    # Callers watching GET .../events see every resource of the batch appear, PROVISIONING.
    record_events(session, [("network", n.id) for n in plan.networks] + [("port", p.id) for p in plan.ports])


def remove_batch(session: Session, batch_id: str) -> None:
    """Undo `insert_batch` (and the Idempotency-Key kept for it) of a batch that never started (caller commits)."""
    connection = session.connection()
    resource_ids = list(connection.execute(select(_items.c.resource_id).where(_items.c.batch_id == batch_id)).scalars())
    for part in in_chunks(sorted(set(resource_ids))):
        connection.execute(delete(_ops).where(_ops.c.resource_id.in_(part)))
    removed = [("port", r) for r in connection.execute(select(_ports.c.id).where(_ports.c.batch_id == batch_id)).scalars()]
    removed += [("network", r) for r in connection.execute(select(_networks.c.id).where(_networks.c.batch_id == batch_id)).scalars()]
    connection.execute(delete(_ports).where(_ports.c.batch_id == batch_id))
    connection.execute(delete(_networks).where(_networks.c.batch_id == batch_id))
    record_events(session, removed)
    connection.execute(delete(_items).where(_items.c.batch_id == batch_id))
    connection.execute(delete(BatchRow.__table__).where(BatchRow.__table__.c.id == batch_id))
    connection.execute(delete(IdempotencyRow.__table__).where(IdempotencyRow.resource_id == batch_id))


def _rows(plan: PlannedBatch, batch_id: str, tenant_id: str) -> dict[str, list[dict]]:
    """The rows of a planned batch, by table name: resources, their operations, the batch's items."""
    now = utcnow()
    network_template = NetworkRow(id="", tenant_id=tenant_id, name="", plugin="", status=PROVISIONING).model_dump()
    port_template = PortRow(id="", tenant_id=tenant_id, network_id="", state="", status=PROVISIONING).model_dump()
    common = {"batch_id": batch_id, "created_at": now, "updated_at": now, "progress": f"queued in batch {batch_id}"}
    networks, ports, operations, items = [], [], [], []

    def operation(resource_type: str, resource_id: str, seq: int, kind: OpKind, *, delivered: bool = True,
                  op_id: str | None = None, **payload) -> str:
        op_id = op_id or str(uuid.uuid4())
        operations.append({
            "op_id": op_id, "resource_type": resource_type, "resource_id": resource_id, "tenant_id": tenant_id,
            "seq": seq, "kind": kind.value, "payload": {"batch_id": batch_id, **payload}, "delivered": delivered, "accepted_at": now,
        })
        return op_id

    def item(kind: ItemKind, index: int, ref: str, resource_id: str, op_id: str, seq: int, **extra) -> None:
        items.append({
            "batch_id": batch_id, "position": len(items), "kind": kind.value, "kind_index": index, "ref": ref,
            "resource_id": resource_id, "network_id": extra.get("network_id"), "iface_id": extra.get("iface_id"),
            "host": extra.get("host"), "op_id": op_id, "op_seq": seq, "status": PROVISIONING, "error": None, "attempts": 0,
        })

    for index, n in enumerate(plan.networks):
        networks.append(network_template | common | n.columns | {
            "id": n.id, "name": n.name, "plugin": n.plugin, "accepted_seq": 1, "plugin_data": {},
        })
        item(ItemKind.NETWORK, index, n.ref, n.id, operation("network", n.id, 1, OpKind.CREATE), 1)
    for index, p in enumerate(plan.ports):
        a = p.attachment
        batch_seq = 1 if a is None else 2  # the batch's last operation on the port
        row = port_template | common | p.columns | {
            "id": p.id, "network_id": p.network_id, "accepted_seq": batch_seq if p.qos is None else batch_seq + 1,
            "link_status": LinkStatus.DOWN.value, "link_status_string": NO_ATTACHMENT, "conditions": [],
        }
        if p.qos is not None:
            # Its QoS shows PROVISIONING with the reason until that operation is applied (store.effective.effective_qos).
            row |= {"qos_seq": batch_seq + 1, "qos_progress": p.qos_reason}
            # Not delivered: held until the batch has settled the port, then the sweeper delivers it.
            operation("port", p.id, batch_seq + 1, OpKind.SET_QOS, delivered=False, op_id=qos_op_id(p.id), qos=p.qos)
        if a is not None:
            row |= {
                "attachment_id": a.iface_id, "attachment_host": a.host, "attachment_status": AttachmentStatus.PROVISIONING.value,
                "attachment_reason": a.waiting_on or None, "attachment_created_at": now, "attachment_updated_at": now,
                "link_status_string": a.waiting_on or NO_ATTACHMENT,
            }
        ports.append(row)
        op_id = operation("port", p.id, 1, OpKind.CREATE, **p.columns)
        item(ItemKind.PORT, index, p.ref, p.id, op_id, 1, network_id=p.network_id)
    for index, (a, p) in enumerate(plan.attachments):
        op_id = operation("port", p.id, 2, OpKind.ATTACH, iface_id=a.iface_id, host=a.host)
        item(ItemKind.ATTACHMENT, index, a.ref, p.id, op_id, 2, network_id=p.network_id, iface_id=a.iface_id, host=a.host)
    return {_networks.name: networks, _ports.name: ports, _ops.name: operations, _items.name: items}
