"""The v2.0 QoS writes: `/v2.0/qos/policies` (POST, PUT, DELETE; list and show are the generic
controller's, routes.py) and the rule sub-resources `/v2.0/qos/policies/{id}/bandwidth_limit_rules`
and `/dscp_marking_rules` (list, show, POST, PUT, DELETE), over the shared QoS writes
(api/writes/qos_policies.py: new rules fan out to every port using the policy, as on v1.1).

A rule is one entry of its policy's rule list: a rule write is a policy update with the list
changed, so checks, fan-out and ordering are the v1.1 ones. A second rule of one type and
direction is 409, as Neutron answers (its database refuses the duplicate); a rule id the policy
does not have is 404 QosRuleNotFound.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import CallerDep
from api.neutron import collection
from api.neutron.definitions_qos import BANDWIDTH_LIMIT, QOS_POLICY, RULES, rule_body
from api.neutron.write_input import create_inputs, update_input
from api.neutron.write_routes import picked, read_body
from api.problems import BadRequest, NeutronDbObjectDuplicateEntry
from api.write_flow import Writer, WriterDep
from api.writes import qos_policies as writes
from netprov.qos_resources import QosPolicyCreate, QosPolicyUpdate
from store.tables import QosPolicyRow

router = APIRouter(include_in_schema=False)
EXTRA = frozenset({"description"})


def _policy_answer(writer: Writer, policy_id: str, status_code: int) -> JSONResponse:
    writer.session.commit()
    return JSONResponse({"policy": collection.body_by_id(writer.session, QOS_POLICY, policy_id)}, status_code=status_code)


@router.post(QOS_POLICY.path)
async def create_policy(request: Request, caller: CallerDep, writer: WriterDep) -> JSONResponse:
    inputs, is_bulk = create_inputs(QOS_POLICY, await read_body(request), caller)
    if is_bulk:
        raise BadRequest("Bulk create of QoS policies is not supported")
    values = inputs[0].values
    row = writes.create_policy(
        writer, tenant_id=values["tenant_id"],
        policy=QosPolicyCreate.model_construct(name=values["name"], rules=[]),  # checked by write_input
        description=values.get("description", ""), tags=values.get("tags", []),
    )  # fmt: skip
    return _policy_answer(writer, row.id, 201)


@router.put(f"{QOS_POLICY.path}/{{policy_id}}")
async def update_policy(policy_id: str, request: Request, caller: CallerDep, writer: WriterDep) -> JSONResponse:
    policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
    values = update_input(QOS_POLICY, await read_body(request)).values
    update = QosPolicyUpdate.model_construct(name=values.get("name"), rules=None)
    await writes.update_policy(writer, policy=policy, update=update, **picked(values, EXTRA))
    return _policy_answer(writer, policy.id, 200)


@router.delete(f"{QOS_POLICY.path}/{{policy_id}}", status_code=204)
async def delete_policy(policy_id: str, caller: CallerDep, writer: WriterDep) -> Response:
    policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
    writes.delete_policy(writer, policy=policy)
    return Response(status_code=204)


# -- rules ---------------------------------------------------------------------------------


def _key(rule: dict[str, Any]) -> tuple[str, str | None]:
    return rule["type"], rule.get("direction", "egress") if rule["type"] == BANDWIDTH_LIMIT else None


def _rule(policy: QosPolicyRow, kind: str, rule_id: str) -> dict[str, Any]:
    for rule in policy.rules:
        if rule.get("id") == rule_id and rule["type"] == kind:
            return rule
    raise RULES[kind].not_found(rule_id[:80])


def _body(policy: QosPolicyRow, rule: dict[str, Any]) -> dict[str, Any]:
    return rule_body(rule) | {"qos_policy_id": policy.id}


async def _save(writer: Writer, policy: QosPolicyRow, rules: list[dict[str, Any]], changed: dict[str, Any] | None,
                kind: str) -> dict[str, Any] | None:  # fmt: skip
    """Store `rules` (their JSON form; ids are kept by type and direction) and return the stored
    form of `changed` (None: a delete)."""
    keys = [_key(rule) for rule in rules]
    if len(set(keys)) != len(keys):
        name = "QosBandwidthLimitRule" if kind == BANDWIDTH_LIMIT else "QosDscpMarkingRule"
        attributes = "['qos_policy_id', 'direction']" if kind == BANDWIDTH_LIMIT else "['qos_policy_id']"
        raise NeutronDbObjectDuplicateEntry(
            f"Failed to create a duplicate {name}: for attribute(s) {attributes} with value(s) {policy.id}"
            + (f", {changed.get('direction', 'egress')}" if kind == BANDWIDTH_LIMIT and changed else "")
        )
    plain = [{k: v for k, v in rule.items() if k != "id"} for rule in rules]
    stored = await writes.update_policy(writer, policy=policy, update=QosPolicyUpdate.model_construct(name=None, rules=plain))
    if changed is None:
        return None
    return next(rule for rule in stored.rules if _key(rule) == _key(changed))


def _rule_routes(kind: str) -> None:
    resource = RULES[kind]
    base = f"{QOS_POLICY.path}/{{policy_id}}/{resource.collection}"

    def list_rules(policy_id: str, caller: CallerDep, writer: WriterDep) -> dict[str, Any]:
        policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
        return {resource.collection: [_body(policy, r) for r in policy.rules if r["type"] == kind]}

    def show_rule(policy_id: str, rule_id: str, caller: CallerDep, writer: WriterDep) -> dict[str, Any]:
        policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
        return {resource.member: _body(policy, _rule(policy, kind, rule_id))}

    async def create_rule(policy_id: str, request: Request, caller: CallerDep, writer: WriterDep) -> JSONResponse:
        policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
        inputs, is_bulk = create_inputs(resource, await read_body(request), caller)
        if is_bulk:
            raise BadRequest("Bulk create of QoS rules is not supported")
        new = {"type": kind, **inputs[0].values}
        stored = await _save(writer, policy, [*policy.rules, new], new, kind)
        return JSONResponse({resource.member: _body(policy, stored)}, status_code=201)

    async def update_rule(policy_id: str, rule_id: str, request: Request, caller: CallerDep, writer: WriterDep):
        policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
        old = _rule(policy, kind, rule_id)
        new = old | update_input(resource, await read_body(request)).values
        stored = await _save(writer, policy, [new if r is old else r for r in policy.rules], new, kind)
        return {resource.member: _body(policy, stored)}

    async def delete_rule(policy_id: str, rule_id: str, caller: CallerDep, writer: WriterDep) -> Response:
        policy = collection.row_of(writer.session, QOS_POLICY, caller, policy_id)
        old = _rule(policy, kind, rule_id)
        await _save(writer, policy, [r for r in policy.rules if r is not old], None, kind)
        return Response(status_code=204)

    router.add_api_route(base, list_rules, methods=["GET"])
    router.add_api_route(base, create_rule, methods=["POST"], status_code=201)
    router.add_api_route(f"{base}/{{rule_id}}", show_rule, methods=["GET"])
    router.add_api_route(f"{base}/{{rule_id}}", update_rule, methods=["PUT"])
    router.add_api_route(f"{base}/{{rule_id}}", delete_rule, methods=["DELETE"], status_code=204)


for _kind in RULES:
    _rule_routes(_kind)
