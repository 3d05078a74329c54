"""The QoS read-back of the link monitor: what a host's agent found enforced on its ports
(`Plugin.qos_status_many`), written into `qos_status` / `qos_status_reason` (changes only, with
their `port.qos_status` events). Like the link status (store/links.py), a write is guarded by what
was read: a port an operation changed in between is left to its workflow and checked next cycle."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store import events
from store.tables import PortRow, utcnow


@dataclass
class QosFinding:
    port: PortRow  # as read by the check
    qos_status: str
    qos_status_reason: str | None


def record_qos_findings(engine: Engine, findings: Sequence[QosFinding]) -> list[str]:
    """Write each finding whose status or reason differs from the row as read; return the ids written."""
    params = [
        {
            "b_id": f.port.id,
            "b_applied_seq": f.port.applied_seq,
            "b_accepted_seq": f.port.accepted_seq,
            "b_old_status": f.port.qos_status,
            "b_old_reason": f.port.qos_status_reason,
            "b_status": f.qos_status,
            "b_reason": f.qos_status_reason,
        }
        for f in findings
        if (f.qos_status, f.qos_status_reason) != (f.port.qos_status, f.port.qos_status_reason)
    ]
    if not params:
        return []
    ports = PortRow.__table__
    statement = (
        update(ports)
        .where(
            and_(
                ports.c.id == bindparam("b_id"),
                ports.c.applied_seq == bindparam("b_applied_seq"),
                ports.c.accepted_seq == bindparam("b_accepted_seq"),
                ports.c.qos_status == bindparam("b_old_status"),
                ports.c.qos_status_reason.is_not_distinct_from(bindparam("b_old_reason")),
            )
        )
        .values(qos_status=bindparam("b_status"), qos_status_reason=bindparam("b_reason"), updated_at=utcnow())
    )
    ids = [p["b_id"] for p in params]
    with Session(engine) as session:
        session.connection().execute(statement, params)
        events.record_states(session, "port", ids)
        session.commit()
    return ids
