"""QoS rules: the shared vocabulary of the API, the workflows and the plugins (stdlib only).

A policy is a list of rules, at most one per `QosRule.key`:

- `bandwidth_limit`: `max_kbps` 1..100000000, `max_burst_kbps` 0..100000000 (0: the plugin picks
  `burst_kbps(rule)`, 80% of max_kbps as the Neutron OVS agent does), `direction` egress (traffic
  leaving the VM, the default) or ingress (traffic to the VM);
- `dscp_marking`: `dscp_mark` from `DSCP_MARKS`; IPv4 and IPv6 packets leaving the VM carry it.

`QosRule` is one flat dataclass with a `type` discriminator rather than one class per type: a
workflow input decoded by Temporal's default converter then has exactly one way to decode. Build
rules with `bandwidth_limit()` / `dscp_marking()` or `rule_from_dict()` (strict: what the API
rejects with 400, this rejects with `QosRuleError`), and check a whole list with `validate_rules()`.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from netprov.status import QosStatus


class QosRuleType(StrEnum):
    BANDWIDTH_LIMIT = "bandwidth_limit"
    DSCP_MARKING = "dscp_marking"


class QosDirection(StrEnum):
    EGRESS = "egress"  # leaving the VM
    INGRESS = "ingress"  # to the VM


MAX_KBPS = (1, 100_000_000)
MAX_BURST_KBPS = (0, 100_000_000)
DSCP_MARKS = frozenset({0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56})
# The burst a plugin uses for max_burst_kbps 0, as a fraction of max_kbps (Neutron's OVS agent).
DEFAULT_BURST_FRACTION = 0.8

# The fields each rule type accepts in its JSON form (besides "type"); anything else is an error.
RULE_FIELDS: dict[QosRuleType, frozenset[str]] = {
    QosRuleType.BANDWIDTH_LIMIT: frozenset({"max_kbps", "max_burst_kbps", "direction"}),
    QosRuleType.DSCP_MARKING: frozenset({"dscp_mark"}),
}


class QosRuleError(ValueError):
    """A rule or a rule list the contract does not allow; the message is the sentence for a 400."""


@dataclass(frozen=True)
class QosRule:
    """One rule. Fields that do not belong to `type` keep their defaults (None / 0 / egress)."""

    type: QosRuleType
    max_kbps: int | None = None
    max_burst_kbps: int = 0
    direction: QosDirection = QosDirection.EGRESS
    dscp_mark: int | None = None

    @property
    def key(self) -> str:
        """What a policy may hold once: "bandwidth_limit/egress", "bandwidth_limit/ingress", "dscp_marking"."""
        if self.type == QosRuleType.BANDWIDTH_LIMIT:
            return f"{self.type.value}/{QosDirection(self.direction).value}"
        return QosRuleType(self.type).value

    def __str__(self) -> str:
        if self.type == QosRuleType.BANDWIDTH_LIMIT:
            return f"{QosDirection(self.direction).value} limit {self.max_kbps} kbps (burst {burst_kbps(self)} kbit)"
        return f"DSCP mark {self.dscp_mark}"


@dataclass
class QosReport:
    """A plugin's read-back of one port's QoS (`Plugin.qos_status`): what the device really
    enforces compared with what it should; `reason` is None when AVAILABLE."""

    status: QosStatus
    reason: str | None = None


@dataclass(frozen=True)
class QosDrift:
    """One repair of a plugin's `reconcile`: `change` made on host `host` (on interface `iface_id`,
    or None for the bridge). `found` is what the device enforced wrongly before it, as a read-back
    would have said it (the ERROR reason): the host check shows it on the interface's port even
    when the drift came and was repaired between two read-backs."""

    host: str
    iface_id: str | None
    change: str
    found: str | None = None

    def __str__(self) -> str:
        where = f"interface-id {self.iface_id}" if self.iface_id else "bridge br-int"
        return f"QoS of {where} on host {self.host}: {self.change}"


@dataclass
class QosSpec:
    """The QoS a plugin is asked to put on one port (PluginRequest.qos): the port's effective policy
    (its own, else its network's) with its full rule list. `rules == []` clears the port. The
    policy's name travels along because the fake plugins take their injected faults from it."""

    policy_id: str | None = None
    policy_name: str = ""
    rules: list[QosRule] = field(default_factory=list)


def bandwidth_limit(
    max_kbps: int, max_burst_kbps: int = 0, direction: QosDirection | str = QosDirection.EGRESS
) -> QosRule:
    rule = QosRule(QosRuleType.BANDWIDTH_LIMIT, max_kbps=max_kbps, max_burst_kbps=max_burst_kbps,
                   direction=_direction(direction))  # fmt: skip
    check_rule(rule)
    return rule


def dscp_marking(dscp_mark: int) -> QosRule:
    rule = QosRule(QosRuleType.DSCP_MARKING, dscp_mark=dscp_mark)
    check_rule(rule)
    return rule


def burst_kbps(rule: QosRule) -> int:
    """The burst (kbit) a bandwidth limit is enforced with: its own, or 80% of max_kbps (at least 1)."""
    if rule.max_burst_kbps:
        return rule.max_burst_kbps
    return max(1, round((rule.max_kbps or 0) * DEFAULT_BURST_FRACTION))


def check_rule(rule: QosRule) -> None:
    """Raise QosRuleError unless `rule` is within the contract's ranges and sets."""
    if rule.type == QosRuleType.BANDWIDTH_LIMIT:
        _in_range("max_kbps", rule.max_kbps, MAX_KBPS)
        _in_range("max_burst_kbps", rule.max_burst_kbps, MAX_BURST_KBPS)
        _direction(rule.direction)
    elif rule.type == QosRuleType.DSCP_MARKING:
        if not _is_int(rule.dscp_mark) or rule.dscp_mark not in DSCP_MARKS:
            raise QosRuleError(
                f"dscp_mark {rule.dscp_mark!r} is not a valid DSCP mark; use one of {sorted(DSCP_MARKS)}"
            )
    else:
        raise QosRuleError(f"unknown rule type {rule.type!r}; use one of {[t.value for t in QosRuleType]}")


def validate_rules(rules: Sequence[QosRule]) -> None:
    """Raise QosRuleError unless every rule is valid and no two share a key (type and direction)."""
    seen: set[str] = set()
    for rule in rules:
        check_rule(rule)
        if rule.key in seen:
            where = f" with direction {rule.direction}" if rule.type == QosRuleType.BANDWIDTH_LIMIT else ""
            raise QosRuleError(f"two {rule.type} rules{where}: a policy holds at most one per type and direction")
        seen.add(rule.key)


def rule_from_dict(data: Mapping[str, Any]) -> QosRule:
    """A rule from its JSON form ({"type": ..., fields}); unknown types or fields, wrong types and
    values out of range raise QosRuleError."""
    if not isinstance(data, Mapping):
        raise QosRuleError(f"a rule must be an object, not {type(data).__name__}")
    try:
        kind = QosRuleType(data.get("type"))
    except ValueError:
        raise QosRuleError(
            f"unknown rule type {data.get('type')!r}; use one of {[t.value for t in QosRuleType]}"
        ) from None
    unknown = sorted(set(data) - RULE_FIELDS[kind] - {"type"})
    if unknown:
        raise QosRuleError(f"{kind.value} rule has unknown field(s) {', '.join(unknown)}")
    if kind == QosRuleType.DSCP_MARKING:
        if "dscp_mark" not in data:
            raise QosRuleError("dscp_marking rule needs dscp_mark")
        return dscp_marking(data["dscp_mark"])
    if "max_kbps" not in data:
        raise QosRuleError("bandwidth_limit rule needs max_kbps")
    return bandwidth_limit(
        data["max_kbps"], data.get("max_burst_kbps", 0), data.get("direction", QosDirection.EGRESS)
    )


def rule_to_dict(rule: QosRule) -> dict[str, Any]:
    """The JSON form of a rule: its type and its own fields only (the inverse of rule_from_dict)."""
    if rule.type == QosRuleType.BANDWIDTH_LIMIT:
        return {
            "type": QosRuleType.BANDWIDTH_LIMIT.value,
            "max_kbps": rule.max_kbps,
            "max_burst_kbps": rule.max_burst_kbps,
            "direction": QosDirection(rule.direction).value,
        }
    return {"type": QosRuleType.DSCP_MARKING.value, "dscp_mark": rule.dscp_mark}


def rules_from_json(items: Iterable[Mapping[str, Any]]) -> list[QosRule]:
    """A whole rule list from JSON, validated (validate_rules)."""
    rules = [rule_from_dict(item) for item in items]
    validate_rules(rules)
    return rules


def rules_by_key(rules: Iterable[QosRule]) -> dict[str, QosRule]:
    """{rule.key: rule}: the order of rules in a policy means nothing."""
    return {rule.key: rule for rule in rules}


def same_rules(left: Iterable[QosRule], right: Iterable[QosRule]) -> bool:
    """True when both lists enforce the same thing (order aside; burst 0 equals its default)."""
    return _enforced(left) == _enforced(right)


def _enforced(rules: Iterable[QosRule]) -> dict[str, tuple]:
    result: dict[str, tuple] = {}
    for rule in rules:
        if rule.type == QosRuleType.BANDWIDTH_LIMIT:
            result[rule.key] = (rule.max_kbps, burst_kbps(rule))
        else:
            result[rule.key] = (rule.dscp_mark,)
    return result


def _direction(value: QosDirection | str) -> QosDirection:
    try:
        return QosDirection(value)
    except ValueError:
        raise QosRuleError(
            f"direction {value!r} is not valid; use one of {[d.value for d in QosDirection]}"
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(name: str, value: Any, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not _is_int(value) or not low <= value <= high:
        raise QosRuleError(f"{name} {value!r} is out of range: an integer from {low} to {high}")


def clears(spec: QosSpec) -> bool:
    """True for the spec of a port no policy applies to any more (applying it removes the QoS)."""
    return spec.policy_id is None and not spec.rules


def spec_to_dict(spec: QosSpec) -> dict[str, Any]:
    """The JSON form of a spec (an accepted operation's payload); the inverse of spec_from_dict."""
    return {"policy_id": spec.policy_id, "policy_name": spec.policy_name, "rules": [rule_to_dict(r) for r in spec.rules]}


def spec_from_dict(data: Mapping[str, Any]) -> QosSpec:
    return QosSpec(
        policy_id=data.get("policy_id"),
        policy_name=data.get("policy_name") or "",
        rules=[rule_from_dict(rule) for rule in data.get("rules") or []],
    )
