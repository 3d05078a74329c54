"""Reads and writes of the link monitor (workflows/link_monitor.py): which hosts have attached
ports, the ports one host's agent must check, and the link statuses and conditions it found.

Writes are changes only: a port whose link and conditions are as found is not written, so a quiet
system costs one read per host and cycle, no write and no event. A write is guarded by what was
read: a port that an operation changed in between (applied or accepted another operation, another
attachment, another admin state) is left to its workflow, and checked again next cycle.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from netprov.conditions import AgentState, port_conditions
from netprov.status import AttachmentStatus, NetworkStatus
from store import events
from store.projection import effective_status, port_facts
from store.tables import NetworkRow, PortRow, utcnow


@dataclass
class LinkTarget:
    """One attached port as the monitor read it, with what its check needs of its network."""

    port: PortRow
    plugin: str
    network_name: str
    network_data: dict[str, str] = field(default_factory=dict)
    network_available: bool = True

    @property
    def pending(self) -> bool:
        return self.port.accepted_seq > self.port.applied_seq


@dataclass
class LinkFinding:
    target: LinkTarget
    link_status: str
    link_status_string: str | None


def _attached(plugins: Sequence[str]):
    return select(PortRow, NetworkRow).join(NetworkRow, NetworkRow.id == PortRow.network_id).where(
        NetworkRow.plugin.in_(list(plugins)),
        PortRow.attachment_id.is_not(None),
        PortRow.attachment_host.is_not(None),
        PortRow.deleting == False,  # noqa: E712
    )


def attachment_hosts(engine: Engine, plugins: Sequence[str]) -> list[str]:
    """Hosts of the attachments of ports on networks of `plugins`."""
    if not plugins:
        return []
    query = (
        select(PortRow.attachment_host)
        .join(NetworkRow, NetworkRow.id == PortRow.network_id)
        .where(NetworkRow.plugin.in_(list(plugins)), PortRow.attachment_host.is_not(None))
        .distinct()
    )
    with Session(engine) as session:
        return sorted(host for (host,) in session.execute(query) if host)


def host_targets(engine: Engine, host: str, plugins: Sequence[str]) -> list[LinkTarget]:
    """The attached ports on `host` of networks of `plugins` (attachment not failed), oldest first."""
    if not plugins:
        return []
    query = _attached(plugins).where(
        PortRow.attachment_host == host,
        (PortRow.attachment_status.is_(None)) | (PortRow.attachment_status != AttachmentStatus.ERROR.value),
    ).order_by(PortRow.created_at)
    with Session(engine) as session:
        targets = []
        for port, network in session.execute(query).all():
            session.expunge(port)
            status, _ = effective_status(network)
            targets.append(
                LinkTarget(
                    port=port,
                    plugin=network.plugin,
                    network_name=network.name,
                    network_data={key: str(value) for key, value in (network.plugin_data or {}).items()},
                    network_available=status == NetworkStatus.AVAILABLE and not network.deleting,
                )
            )
        return targets


def record_findings(engine: Engine, findings: Sequence[LinkFinding], agent: AgentState) -> list[str]:
    """Write the link status found for each port (and the agent's liveness into its conditions)
    where it differs from the row as read; return the ids of the ports written."""
    now = utcnow()
    params: list[dict[str, Any]] = []
    for finding in findings:
        port = finding.target.port
        facts = replace(port_facts(port), link_status=finding.link_status, link_status_string=finding.link_status_string)
        conditions = port_conditions(port.conditions, facts, agent, now)
        if (
            finding.link_status == port.link_status
            and finding.link_status_string == port.link_status_string
            and conditions == port.conditions
        ):
            continue
        params.append(
            {
                "b_id": port.id,
                "b_applied_seq": port.applied_seq,
                "b_accepted_seq": port.accepted_seq,
                "b_state": port.state,
                "b_attachment_id": port.attachment_id,
                "b_attachment_host": port.attachment_host,
                "b_attachment_status": port.attachment_status,
                "b_old_link_status": port.link_status,
                "b_old_link_status_string": port.link_status_string,
                "b_link_status": finding.link_status,
                "b_link_status_string": finding.link_status_string,
                "b_conditions": conditions,
            }
        )
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
                ports.c.state == bindparam("b_state"),
                ports.c.attachment_id == bindparam("b_attachment_id"),
                ports.c.attachment_host == bindparam("b_attachment_host"),
                ports.c.attachment_status.is_not_distinct_from(bindparam("b_attachment_status")),
                ports.c.link_status == bindparam("b_old_link_status"),
                ports.c.link_status_string.is_not_distinct_from(bindparam("b_old_link_status_string")),
            )
        )
        .values(
            link_status=bindparam("b_link_status"),
            link_status_string=bindparam("b_link_status_string"),
            conditions=bindparam("b_conditions"),
            updated_at=now,
        )
    )
    ids = [p["b_id"] for p in params]
    with Session(engine) as session:
        session.connection().execute(statement, params)
        # Compares each row with its last event: a port whose guarded write did not apply gets none.
        events.record_states(session, "port", ids)
        session.commit()
    return ids
