"""QoS policy shapes of the REST contract (v1.1), shared by the API and the Python client.

Rules are checked by netprov/qos.py (`rules_from_json`), not by pydantic: every invalid rule is a
400 BadRequest with that module's sentence. The rule models below describe the rules for OpenAPI
(and for clients that build them); request bodies carry the rules as plain JSON.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from netprov.qos import DSCP_MARKS, MAX_BURST_KBPS, MAX_KBPS, QosDirection
from netprov.resources import Name, StrictModel
from netprov.status import QosStatus

# A policy id named in a body: checked (UUID, the tenant's policy) by the API, so that a bad one is
# BadRequest or QosPolicyNotFound rather than a schema error.
PolicyId = Annotated[str, Field(max_length=255)]


class RuleModel(BaseModel):
    # Not strict: response bodies are built from stored JSON (enum values as strings).
    model_config = ConfigDict(extra="forbid")


class BandwidthLimitRule(RuleModel):
    """Traffic leaving the VM (egress, the default) or to it (ingress) held at `max_kbps`."""

    type: Literal["bandwidth_limit"] = "bandwidth_limit"
    max_kbps: Annotated[int, Field(ge=MAX_KBPS[0], le=MAX_KBPS[1])]
    # 0: the plugin picks (80% of max_kbps, as the Neutron OVS agent does).
    max_burst_kbps: Annotated[int, Field(ge=MAX_BURST_KBPS[0], le=MAX_BURST_KBPS[1])] = 0
    direction: QosDirection = QosDirection.EGRESS


class DscpMarkingRule(RuleModel):
    """IPv4 and IPv6 packets leaving the VM carry `dscp_mark`."""

    type: Literal["dscp_marking"] = "dscp_marking"
    dscp_mark: Annotated[int, Field(json_schema_extra={"enum": sorted(DSCP_MARKS)})]


QosRuleBody = Annotated[BandwidthLimitRule | DscpMarkingRule, Field(discriminator="type")]
_RULES_SCHEMA = {
    "type": "array",
    "description": "At most one rule per type and direction; anything else is 400 BadRequest.",
    "items": {"oneOf": [{"$ref": "#/components/schemas/BandwidthLimitRule"}, {"$ref": "#/components/schemas/DscpMarkingRule"}]},
}
# Taken as JSON and checked by netprov.qos, documented as a list of the rule models.
RulesInput = Annotated[Any, WithJsonSchema(_RULES_SCHEMA)]


class QosPolicyCreate(StrictModel):
    name: Name
    rules: RulesInput = Field(default_factory=list)


class QosPolicyCreateRequest(StrictModel):
    qos_policy: QosPolicyCreate


class QosPolicyUpdate(StrictModel):
    """Replaces `name` and/or `rules` (the whole list); new rules are re-applied to every port using it."""

    name: Name | None = None
    rules: RulesInput = None


class QosPolicyUpdateRequest(StrictModel):
    qos_policy: QosPolicyUpdate


class QosPolicyLinks(BaseModel):
    self: str


class QosPolicyBody(BaseModel):
    id: str
    name: str
    rules: list[QosRuleBody]
    status: QosStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    links: QosPolicyLinks


class QosPolicySummary(BaseModel):
    id: str
    name: str
    status: QosStatus


class QosPolicyResponse(BaseModel):
    qos_policy: QosPolicyBody


class QosPoliciesResponse(BaseModel):
    qos_policies: list[QosPolicyBody] | list[QosPolicySummary]
