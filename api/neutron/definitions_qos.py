"""QoS policies and their rules as data, prepared for the QoS resource (another helper adds its
table and v1.1 routes; phase 2 serves /v2.0/qos/policies from these tables).

Policy (neutron-lib qos.py): id, name, description, shared (false), is_default (false),
project_id, tenant_id, rules (each with id and type), tags, revision_number, timestamps.
Rules are sub-resources of a policy, bodies read from the policy's rule dicts:
bandwidth_limit_rules (max_kbps 1..100000000, max_burst_kbps 0..100000000 default 0, direction
egress|ingress default egress) and dscp_marking_rules (dscp_mark one of the contract's values).
"""

from typing import Any

from api.neutron.attributes import REQUIRED, Attribute, InvalidValue, boolean, one_of
from api.neutron.definitions import Resource, constant, optional_read, standard
from api.problems import QosPolicyNotFound, QosRuleNotFound
from store.tables import QosPolicyRow

MAX_KBPS = 100_000_000
DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56)
BANDWIDTH_LIMIT, DSCP_MARKING = "bandwidth_limit", "dscp_marking"


def integer_in(low: int, high: int):
    def check(value: Any) -> int:
        # Neutron's convert_to_int takes "10" too; a bool is not a number here.
        if isinstance(value, bool):
            raise InvalidValue(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidValue(f"'{value}' is not an integer") from None
        if not low <= number <= high:
            raise InvalidValue(f"'{number}' is not in range {low} through {high}")
        return number

    return check


def dscp_mark(value: Any) -> int:
    number = integer_in(0, 63)(value)
    if number not in DSCP_MARKS:
        raise InvalidValue(f"'{number}' is not in {list(DSCP_MARKS)}")
    return number


def rule_body(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as the policy body lists it (`qos rule list` reads these)."""
    attributes = RULES[rule["type"]].attributes
    return {"type": rule["type"], **{a.name: a.read(rule) for a in attributes if a.visible}}


def qos_policy(table: type) -> Resource:
    """The policy resource over the QoS helper's table (columns: id, tenant_id, name, rules, and
    those of `standard` it has)."""
    return Resource(
        member="policy",
        collection="policies",
        prefix="qos/",
        table=table,
        not_found=lambda policy_id: QosPolicyNotFound(f"QoS policy {policy_id} could not be found."),
        attributes=(
            *standard(table),
            Attribute("shared", lambda r: False, allow_post=True, allow_put=True, default=False, validate=boolean,
                      is_filter=True, convert_filter=boolean, filter_clause=constant(False)),
            Attribute("is_default", lambda r: False, allow_post=True, allow_put=True, default=False, validate=boolean,
                      is_filter=True, convert_filter=boolean, filter_clause=constant(False)),
            Attribute("rules", lambda r: [rule_body(rule) | {"qos_policy_id": r.id}
                                          for rule in (optional_read(table, "rules")(r) or [])]),
        ),
    )


def _rule_id(rule: dict[str, Any]) -> Any:
    return rule.get("id")


def _rule(member: str, *attributes: Attribute) -> Resource:
    return Resource(
        member=member,
        collection=f"{member}s",
        table=dict,  # rules live inside their policy's row
        not_found=lambda rule_id: QosRuleNotFound(f"QoS rule {rule_id} could not be found."),
        attributes=(Attribute("id", _rule_id), *attributes),
    )


QOS_POLICY = qos_policy(QosPolicyRow)

RULES = {
    BANDWIDTH_LIMIT: _rule(
        "bandwidth_limit_rule",
        Attribute("max_kbps", lambda r: r["max_kbps"], allow_post=True, allow_put=True, default=REQUIRED,
                  validate=integer_in(1, MAX_KBPS), target="max_kbps"),
        Attribute("max_burst_kbps", lambda r: r.get("max_burst_kbps", 0), allow_post=True, allow_put=True, default=0,
                  validate=integer_in(0, MAX_KBPS), target="max_burst_kbps"),
        Attribute("direction", lambda r: r.get("direction", "egress"), allow_post=True, allow_put=True,
                  default="egress", validate=one_of("egress", "ingress"), target="direction"),
    ),
    DSCP_MARKING: _rule(
        "dscp_marking_rule",
        Attribute("dscp_mark", lambda r: r["dscp_mark"], allow_post=True, allow_put=True, default=REQUIRED,
                  validate=dscp_mark, target="dscp_mark"),
    ),
}
