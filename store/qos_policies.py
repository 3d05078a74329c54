"""Every statement on QoS policies, and on the policy columns of networks and ports: claims in the
caller's transaction (the caller accepts the operations and commits) and their undo. Keyword-only,
session first.

A port's *effective* policy is its own (`ports.qos_policy_id`), else its network's. Rules are stored
in their JSON form (netprov.qos.rule_to_dict) with a stable `id` each: a rule keeps its id while a
PUT keeps a rule of its type and direction, so the Neutron view's rule paths stay valid.
"""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlmodel import Session

from netprov.qos import QosRule, QosSpec, rule_from_dict, rule_to_dict
from netprov.status import QosStatus
from store import events
from store.tables import NetworkRow, PortRow, QosPolicyRow, utcnow

# IN lists are cut at this many ids (SQLite's variable limit, PostgreSQL's plan sizes).
CHUNK = 500


def get(session: Session, *, policy_id: str) -> QosPolicyRow | None:
    return session.get(QosPolicyRow, policy_id)


def list_rows(session: Session, *, tenant_id: str) -> list[QosPolicyRow]:
    """The tenant's policies, oldest first."""
    query = select(QosPolicyRow).where(QosPolicyRow.tenant_id == tenant_id)
    return list(session.execute(query.order_by(QosPolicyRow.created_at, QosPolicyRow.id)).scalars().all())


def stored_rules(rules: Sequence[QosRule], previous: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """`rules` as stored: JSON form plus an id, the id of `previous`'s rule of the same key if any."""
    ids = {rules_of([rule])[0].key: rule["id"] for rule in previous if "id" in rule}
    return [{"id": ids.get(rule.key) or str(uuid.uuid4()), **rule_to_dict(rule)} for rule in rules]


def rules_of(stored: Iterable[dict[str, Any]]) -> list[QosRule]:
    """The QosRules of stored rule dicts (their ids dropped)."""
    return [rule_from_dict({k: v for k, v in rule.items() if k != "id"}) for rule in stored]


def spec_of(policy: QosPolicyRow | None) -> QosSpec:
    """What a port of `policy` must enforce; no policy: the clearing spec (rules [])."""
    if policy is None:
        return QosSpec()
    return QosSpec(policy_id=policy.id, policy_name=policy.name, rules=rules_of(policy.rules))


def create(
    session: Session, *, policy_id: str, tenant_id: str, name: str, rules: Sequence[QosRule], description: str = "",
    tags: Sequence[str] = (),
) -> QosPolicyRow:  # fmt: skip
    """Insert an AVAILABLE policy (flushed)."""
    row = QosPolicyRow(id=policy_id, tenant_id=tenant_id, name=name, rules=stored_rules(rules),
                       status=QosStatus.AVAILABLE.value, description=description, tags=list(tags))  # fmt: skip
    session.add(row)
    session.flush()
    return row


def update_policy(
    session: Session, *, policy_id: str, name: str | None = None, rules: list[dict[str, Any]] | None = None, **extra: Any
) -> None:
    """Set the name and/or the stored rules (and Neutron's description/tags in `extra`); also the undo
    of an update, given the previous values."""
    values: dict[str, Any] = {k: v for k, v in (("name", name), ("rules", rules)) if v is not None}
    values |= {k: v for k, v in extra.items() if v is not None}
    session.execute(update(QosPolicyRow).where(QosPolicyRow.id == policy_id).values(**values, updated_at=utcnow()))


def in_use(session: Session, *, policy_id: str) -> bool:
    """True while a port or a network names the policy (QosPolicyInUse)."""
    return bool(session.execute(select(_used(policy_id))).scalar())


def delete(session: Session, *, policy_id: str) -> bool:
    """Delete the policy unless a port or network names it (checked in the same statement, so a
    concurrent PUT of qos_policy_id cannot slip in between); True when deleted."""
    table = QosPolicyRow.__table__
    return bool(session.execute(table.delete().where(table.c.id == policy_id, ~_used(policy_id))).rowcount)


def _used(policy_id: str):
    return or_(exists().where(PortRow.qos_policy_id == policy_id), exists().where(NetworkRow.qos_policy_id == policy_id))


def ports_using(session: Session, *, policy_id: str) -> list[str]:
    """Ids of the live ports whose effective policy is `policy_id` (their own, or their network's
    when they have none), oldest first: the ports a change of its rules reaches."""
    query = (
        select(PortRow.id)
        .join(NetworkRow, NetworkRow.id == PortRow.network_id)
        .where(
            PortRow.deleting == False,  # noqa: E712
            or_(PortRow.qos_policy_id == policy_id,
                and_(PortRow.qos_policy_id.is_(None), NetworkRow.qos_policy_id == policy_id)),
        )  # fmt: skip
        .order_by(PortRow.created_at, PortRow.id)
    )
    return list(session.execute(query).scalars().all())


def inheriting_ports(session: Session, *, network_id: str) -> list[str]:
    """Ids of the network's live ports without a policy of their own, oldest first: the ports a
    change of the network's policy reaches."""
    query = select(PortRow.id).where(
        PortRow.network_id == network_id, PortRow.qos_policy_id.is_(None), PortRow.deleting == False  # noqa: E712
    )
    return list(session.execute(query.order_by(PortRow.created_at, PortRow.id)).scalars().all())


def effective_policy_id(port: PortRow, network: NetworkRow | None) -> str | None:
    return port.qos_policy_id or (network.qos_policy_id if network is not None else None)


def set_port_policy(session: Session, *, port_id: str, policy_id: str | None) -> None:
    """The port's own policy (None: its network's applies); also its own undo."""
    session.execute(update(PortRow).where(PortRow.id == port_id).values(qos_policy_id=policy_id))


def set_network_policy(session: Session, *, network_id: str, policy_id: str | None) -> None:
    """The network's policy, for its ports without one; also its own undo."""
    session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(qos_policy_id=policy_id, updated_at=utcnow()))


def mark_qos_pending(session: Session, *, port_ids: Sequence[str], reason: str) -> None:
    """Call right after accepting an operation that changes the QoS of `port_ids` (in the same
    transaction): their QoS shows PROVISIONING with `reason` until that operation is applied (and
    subscribers to the event stream see it in this commit)."""
    for start in range(0, len(port_ids), CHUNK):
        chunk = list(port_ids[start : start + CHUNK])
        session.execute(
            update(PortRow).where(PortRow.id.in_(chunk)).values(qos_seq=PortRow.accepted_seq, qos_progress=reason),
            execution_options={"synchronize_session": False},
        )
    events.record_states(session, "port", list(port_ids))


def policy_names(session: Session, policy_ids: Iterable[str | None]) -> dict[str, str]:
    """{policy id: name} of the given ids that exist."""
    ids = sorted({p for p in policy_ids if p})
    if not ids:
        return {}
    return dict(session.execute(select(QosPolicyRow.id, QosPolicyRow.name).where(QosPolicyRow.id.in_(ids))).all())
