"""A QoS fan-out applied as a batch. When a policy change reaches many ports, those with nothing
else in flight get their SET_QOS operation applied by one BatchWorkflow (BatchPurpose.QOS_FAN_OUT,
one item of kind QOS per port, a chunk of ports per plugin call, one transaction per chunk) rather
than by a workflow run each: 1,000 idle ports cost a handful of activities, not 1,000 runs.

It keeps the guarantees of the per-port path:

- Order: a port is taken only when every earlier operation on it is applied, as read from the very
  UPDATE that gave the operation its sequence number (no other write can come in between), its
  network is AVAILABLE and no other batch holds it. An operation accepted on it afterwards waits in
  the outbox while its item is PROVISIONING (`store.batches.held_by_batch`), as for a topology batch.
- Once: the item's plugin request id is `<op_id>:<call>`, the one the port's workflow would send; a
  chunk run again is a no-op in the plugin's ledger, and items already settled are not run again.
- Durable: the batch and its items are written in the fan-out's own transaction, its operations
  marked delivered (the batch owns them); a start lost to a crash is made by the outbox sweeper.

Every other port (provisioning, in ERROR, being deleted, held by a topology batch, on a network not
AVAILABLE) gets its operation through its own workflow, which handles each of those cases.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from netprov.batch import BatchPurpose, ItemKind
from netprov.status import PROVISIONING, AttachmentStatus, BatchStatus, NetworkStatus, PortStatus
from store.batches import held_by_batches, in_chunks
from store.tables import BatchItemRow, BatchRow, NetworkRow, OperationRow

# Settled port statuses a policy can be put on without the port's workflow.
_SETTLED = (PortStatus.ACTIVE.value, PortStatus.DOWN.value)


@dataclass
class FanOut:
    """What a fan-out accepted: every operation, and the batch that applies some of them (their
    rows are marked delivered); the others go to their ports' workflows."""

    ops: list[OperationRow]
    batch: BatchRow | None = None

    @property
    def to_deliver(self) -> list[OperationRow]:
        """The operations for the ports' workflows: those the batch does not own."""
        return [op for op in self.ops if not op.delivered]

    @property
    def batch_ports(self) -> int:
        return len(self.ops) - len(self.to_deliver)


def plan(session: Session, ops: Sequence[OperationRow], rows: dict[str, Any], *, min_ports: int) -> FanOut:
    """Put the operations of idle ports (`rows`: the ports as accepting left them) into a new QoS
    fan-out batch when there are at least `min_ports` of them (caller commits)."""
    idle = _idle(session, ops, rows)
    if not idle or len(idle) < min_ports:
        return FanOut(list(ops))
    batch = BatchRow(id=str(uuid.uuid4()), tenant_id=idle[0].tenant_id, status=BatchStatus.PROVISIONING.value,
                     purpose=BatchPurpose.QOS_FAN_OUT.value)  # fmt: skip
    session.add(batch)
    session.flush()
    items = []
    for position, op in enumerate(idle):
        port = rows[op.resource_id]
        attached = bool(port.attachment_id)
        items.append({
            "batch_id": batch.id, "position": position, "kind": ItemKind.QOS.value, "kind_index": position,
            "ref": op.resource_id, "resource_id": op.resource_id, "network_id": port.network_id,
            "iface_id": port.attachment_id if attached else None, "host": port.attachment_host if attached else None,
            "op_id": op.op_id, "op_seq": op.seq, "status": PROVISIONING, "error": None, "attempts": 0,
        })  # fmt: skip
    for part in in_chunks(items):
        session.execute(insert(BatchItemRow.__table__), part)
    for op in idle:
        op.delivered = True
    return FanOut(list(ops), batch)


def _idle(session: Session, ops: Sequence[OperationRow], rows: dict[str, Any]) -> list[OperationRow]:
    """The operations whose port has nothing else in flight and whose network is AVAILABLE."""
    candidates = []
    for op in ops:
        port = rows.get(op.resource_id)
        if port is None or port.deleting or port.applied_seq != op.seq - 1 or port.status not in _SETTLED:
            continue
        if port.attachment_id and port.attachment_status != AttachmentStatus.AVAILABLE:
            continue
        candidates.append(op)
    if not candidates:
        return []
    network_ids = sorted({rows[op.resource_id].network_id for op in candidates})
    ready = set()
    for part in in_chunks(network_ids):
        for network in session.execute(select(NetworkRow).where(NetworkRow.id.in_(part))).scalars():
            if not network.deleting and network.applied_seq == network.accepted_seq and network.status == NetworkStatus.AVAILABLE:
                ready.add(network.id)
    held = held_by_batches(session, [op.resource_id for op in candidates])
    return [op for op in candidates if rows[op.resource_id].network_id in ready and op.resource_id not in held]
