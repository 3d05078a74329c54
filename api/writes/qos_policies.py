"""QoS policy writes: create, update (new rules fan out to every port using the policy), delete.

A policy is a definition held by the service: AVAILABLE from its creation, changed at once. What
takes time is enforcing it on ports, which their workflows do (SET_QOS operations, api/fan_out.py).
"""

import uuid
from typing import Any

from api.fan_out import fan_out
from api.problems import BadRequest, QosPolicyInUse
from api.write_flow import Writer
from api.writes.port_qos import accept_qos
from netprov.qos import QosRule, QosRuleError, rules_from_json, spec_to_dict
from netprov.qos_resources import QosPolicyCreate, QosPolicyUpdate
from netprov.status import ResourceType
from store import qos_policies
from store.tables import QosPolicyRow

PORT = ResourceType.PORT.value


def checked_rules(value: Any) -> list[QosRule]:
    """The rules of a request body (a list of rule objects), or BadRequest saying what is wrong."""
    if not isinstance(value, list):
        raise BadRequest(f"rules must be a list of rule objects, not {type(value).__name__}.")
    try:
        return rules_from_json(value)
    except QosRuleError as error:
        raise BadRequest(f"Invalid QoS rule: {error}.") from None


def create_policy(writer: Writer, *, tenant_id: str, policy: QosPolicyCreate, description: str = "",
                  tags: list[str] | None = None) -> QosPolicyRow:  # fmt: skip
    """A new policy, AVAILABLE at once (nothing to provision until a port names it)."""
    rules = checked_rules(policy.rules)
    session = writer.session
    row = qos_policies.create(session, policy_id=str(uuid.uuid4()), tenant_id=tenant_id, name=policy.name,
                              rules=rules, description=description, tags=tags or [])  # fmt: skip
    session.commit()
    session.refresh(row)
    return row


async def update_policy(writer: Writer, *, policy: QosPolicyRow, update: QosPolicyUpdate, **extra: Any) -> QosPolicyRow:
    """Replace the name and/or the rules (and Neutron's description/tags in `extra`). New rules
    (different from the stored ones) are re-applied to every port using the policy, its own or
    through its network: one SET_QOS operation per port, accepted with the change (api/fan_out.py).
    A name-only update changes the name only. Returns the policy as stored afterwards."""
    rules = None if update.rules is None else checked_rules(update.rules)
    stored = None if rules is None else qos_policies.stored_rules(rules, policy.rules)
    changes_rules = stored is not None and _without_ids(stored) != _without_ids(policy.rules)
    name = update.name if update.name is not None else policy.name
    session = writer.session
    if not changes_rules:
        qos_policies.update_policy(session, policy_id=policy.id, name=update.name, **extra)
        session.commit()
    else:
        assert rules is not None

        def claim(claiming):
            qos_policies.update_policy(claiming, policy_id=policy.id, name=update.name, rules=stored, **extra)
            ports = qos_policies.ports_using(claiming, policy_id=policy.id)
            spec = spec_to_dict(qos_policies.spec_of(QosPolicyRow(id=policy.id, tenant_id=policy.tenant_id, name=name, rules=stored)))
            return accept_qos(claiming, port_ids=ports, tenant_id=policy.tenant_id, spec=spec,
                              reason=f"applying the new rules of QoS policy {name!r}",
                              batch_min=writer.settings.qos_fan_out_batch_min_ports)  # fmt: skip

        await fan_out(writer, claim)
    fresh = qos_policies.get(session, policy_id=policy.id)
    assert fresh is not None
    session.refresh(fresh)
    return fresh


def delete_policy(writer: Writer, *, policy: QosPolicyRow) -> None:
    """Delete the policy; QosPolicyInUse while a port or network names it."""
    session = writer.session
    if not qos_policies.delete(session, policy_id=policy.id):
        session.rollback()
        raise QosPolicyInUse(f"QoS policy {policy.id} is used by a port or a network; clear their qos_policy_id first.")
    session.commit()


def _without_ids(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in rule.items() if k != "id"} for rule in rules), key=repr)
