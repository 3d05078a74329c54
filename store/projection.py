"""Writes of the status projection: how a workflow's progress reaches the resource rows."""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from netprov.conditions import AgentState, PortFacts, port_conditions
from netprov.status import AttachmentStatus, LinkStatus
from netprov.workflow_io import NetworkSnapshot, Projection
from store import events
from store.effective import QUEUED_REASON, effective_status, effective_status_column, table_for
from store.tables import NetworkRow, OperationRow, PortRow, utcnow

# Re-exported: readers import the effective status from here as well as from store.effective.
__all__ = ["QUEUED_REASON", "effective_status", "effective_status_column", "table_for"]
# Port columns the conditions are derived from: a write to any of them recomputes them.
CONDITION_INPUTS = frozenset(
    {"status", "status_reason", "progress", "attachment_status", "attachment_reason", "link_status", "link_status_string"}
)

# Plugins that run nothing on hosts, so that their attached ports need no agent (AgentAlive
# NotRequired). The store cannot ask the plugins (it sits below them): the process that loads the
# plugins says which they are, once at start (worker/build.py). Empty: no port is assumed agent-free.
_agentless_plugins: frozenset[str] = frozenset()


def set_agentless_plugins(names) -> None:
    """Declare the plugins (by name) whose plans have no host-bound step."""
    global _agentless_plugins
    _agentless_plugins = frozenset(names)


def apply_projection(
    engine: Engine, projection: Projection, extra: dict[str, Any] | None = None, agent: AgentState | None = None
) -> bool:
    """Write `projection` (plus `extra` fields); return False when the row is gone or the write
    is stale (progress of an operation that has already finished). A port's conditions follow in
    the same transaction; `agent` is the liveness of its host's agent when the writer knows it."""
    table = table_for(projection.resource_type)
    values: dict[str, Any] = {**projection.fields, **(extra or {}), "updated_at": utcnow()}
    if "attachment_status" in values or "attachment_reason" in values:
        values["attachment_updated_at"] = values["updated_at"]
    if values.get("attachment_status") == AttachmentStatus.ERROR and "link_status" not in values:
        # A failed attachment will not be plugged: its link is DOWN for that reason, not for what
        # the accepted attachment was waiting on.
        values |= {"link_status": LinkStatus.DOWN.value, "link_status_string": values.get("attachment_reason")}
    if projection.final:
        values["progress"] = None
    statement = _update_statement(table, tuple(sorted(values)), projection.final, engine.dialect.name)
    params = {f"v_{name}": value for name, value in values.items()} | {"p_id": projection.resource_id, "p_seq": projection.seq}
    with Session(engine) as session:
        row = session.execute(statement, params).first()
        if row is not None:
            if table is PortRow and (agent is not None or not CONDITION_INPUTS.isdisjoint(values)):
                _write_conditions(session, [(row, _plugin_if_needed(session, row, agent))], agent)
            # `row` is as this write left it (conditions aside, which events do not show).
            events.record_state(session, projection.resource_type, projection.resource_id, current=row)
        session.commit()
        return row is not None


@functools.lru_cache(maxsize=512)
def _update_statement(table, names: tuple[str, ...], final: bool, dialect: str):
    """The UPDATE ... RETURNING of a projection setting columns `names` (bound as v_<name>) of the row
    p_id: a Core statement (no ORM objects to synchronise, the row comes back whole), built once per
    shape, as building it cost more CPU than running it. A final write advances applied_seq to p_seq;
    any other only touches a row whose operation p_seq is unfinished."""
    columns = table.__table__.c
    values: dict[str, Any] = {name: bindparam(f"v_{name}", type_=columns[name].type) for name in names}
    seq = bindparam("p_seq", type_=columns["applied_seq"].type)
    where = [table.id == bindparam("p_id", type_=columns["id"].type)]
    if final:
        greatest = func.max if dialect == "sqlite" else func.greatest
        values["applied_seq"] = greatest(table.applied_seq, seq)
    else:
        where.append(table.applied_seq < seq)
    return update(table.__table__).where(*where).values(**values).returning(*columns)


def refresh_conditions(
    session: Session, port_ids: Sequence[str], agent: AgentState | Mapping[str, AgentState] | None = None
) -> list[str]:
    """Recompute the conditions of `port_ids` from their rows (netprov/conditions.py) and write
    those that changed; return their ids. `agent`: the agent's liveness, for all ports or per port
    id; not given, it stays as last observed (NotRequired for plugins that need no agent)."""
    changed: list[str] = []
    ids = list(dict.fromkeys(port_ids))
    ports = PortRow.__table__
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ports, NetworkRow.plugin)
            .outerjoin(NetworkRow, NetworkRow.id == ports.c.network_id)
            .where(ports.c.id.in_(ids[start : start + 500]))
        ).all()
        changed += _write_conditions(session, [(row, row.plugin) for row in rows], agent)
    return changed


def _plugin_if_needed(session: Session, port, agent: AgentState | None) -> str | None:
    """The plugin of the port's network, read only when the conditions depend on it."""
    if agent is not None or port.attachment_id is None:
        return None
    return session.execute(select(NetworkRow.plugin).where(NetworkRow.id == port.network_id)).scalar()


def _write_conditions(
    session: Session, rows: Sequence[tuple[Any, str | None]], agent: AgentState | Mapping[str, AgentState] | None
) -> list[str]:
    """Write the conditions of (port row, its network's plugin) pairs where they changed."""
    now = utcnow()
    params, changed = [], []
    for port, plugin in rows:
        port_agent = agent.get(port.id) if isinstance(agent, Mapping) else agent
        if port_agent is None and port.attachment_id is not None and plugin in _agentless_plugins:
            port_agent = AgentState.NOT_REQUIRED
        conditions = port_conditions(port.conditions, port_facts(port), port_agent, now)
        if conditions != port.conditions:
            params.append({"b_id": port.id, "b_conditions": conditions})
            changed.append(port.id)
    if params:
        session.execute(_SET_CONDITIONS, params)
    return changed


_SET_CONDITIONS = (
    update(PortRow.__table__)
    .where(PortRow.__table__.c.id == bindparam("b_id"))
    .values(conditions=bindparam("b_conditions"))
)


def port_facts(row) -> PortFacts:
    """The facts the conditions follow from, of a port row (ORM object or Core row)."""
    return PortFacts(
        status=row.status,
        status_reason=row.status_reason,
        pending=row.accepted_seq > row.applied_seq,
        progress=row.progress,
        attachment_id=row.attachment_id,
        attachment_host=row.attachment_host,
        attachment_status=row.attachment_status,
        attachment_reason=row.attachment_reason,
        link_status=row.link_status,
        link_status_string=row.link_status_string,
    )


def remove_resource(engine: Engine, resource_type: str, resource_id: str) -> None:
    """Delete a deprovisioned resource's row and its outbox entries."""
    table = table_for(resource_type)
    with Session(engine) as session:
        removed = session.execute(delete(table).where(table.id == resource_id).returning(*table.__table__.c)).first()
        if removed is not None:
            events.record_state(session, resource_type, resource_id, removed=removed)
        session.execute(delete(OperationRow).where(OperationRow.resource_id == resource_id))
        session.commit()


def network_snapshot(engine: Engine, network_id: str) -> NetworkSnapshot:
    with Session(engine) as session:
        row = session.get(NetworkRow, network_id)
        if row is None:
            return NetworkSnapshot(exists=False)
        status, reason = effective_status(row)
        return NetworkSnapshot(True, status, reason, row.applied_seq, plugin_data=dict(row.plugin_data or {}))


def applied_seq(engine: Engine, resource_type: str, resource_id: str) -> int:
    table = table_for(resource_type)
    with Session(engine) as session:
        value = session.execute(select(table.applied_seq).where(table.id == resource_id)).scalar()
        return value or 0


def port_count(engine: Engine, network_id: str) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(PortRow).where(PortRow.network_id == network_id)).scalar_one()

