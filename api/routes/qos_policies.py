"""/v1.1/tenants/{tenant_id}/qos_policies: the v1.1 shapes of the policy writes in
api/writes/qos_policies.py (the contract's section "QoS policies")."""

from fastapi import APIRouter, Depends, Response

from api.deps import SessionDep, TenantCallerDep, allow_query, tenant_caller
from api.lookups import qos_policy_of
from api.problems import ERROR_RESPONSES
from api.query import DetailQuery, detail_flag
from api.views import qos_policy_body, qos_policy_path, qos_policy_summary
from api.write_flow import WriterDep, empty_answer, preference_applied
from api.writes import qos_policies as writes
from netprov.qos_resources import (
    BandwidthLimitRule,
    DscpMarkingRule,
    QosPoliciesResponse,
    QosPolicyCreateRequest,
    QosPolicyResponse,
    QosPolicyUpdateRequest,
)
from store import qos_policies

router = APIRouter(
    prefix="/v1.1/tenants/{tenant_id}/qos_policies",
    tags=["qos_policies"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(tenant_caller)],
)
# The rule models are referenced from the request schemas by name: make OpenAPI list them.
RULE_MODELS = (BandwidthLimitRule, DscpMarkingRule)


@router.get("", response_model=QosPoliciesResponse, dependencies=[allow_query("detail")])
def list_policies(tenant_id: str, caller: TenantCallerDep, session: SessionDep, detail: DetailQuery = None):
    rows = qos_policies.list_rows(session, tenant_id=tenant_id)
    if detail_flag(detail):
        return {"qos_policies": [qos_policy_body(r) for r in rows]}
    return {"qos_policies": [qos_policy_summary(r) for r in rows]}


@router.post("", status_code=201, response_model=QosPolicyResponse, dependencies=[allow_query()])
def create_policy(tenant_id: str, body: QosPolicyCreateRequest, caller: TenantCallerDep, writer: WriterDep, response: Response):
    """A policy is a definition held by the service: AVAILABLE at once."""
    row = writes.create_policy(writer, tenant_id=tenant_id, policy=body.qos_policy)
    response.headers["Location"] = qos_policy_path(tenant_id, row.id)
    return {"qos_policy": qos_policy_body(row)}


@router.get("/{policy_id}", response_model=QosPolicyResponse, dependencies=[allow_query()])
def show_policy(tenant_id: str, policy_id: str, caller: TenantCallerDep, session: SessionDep):
    return {"qos_policy": qos_policy_body(qos_policy_of(session, tenant_id, policy_id))}


@router.put("/{policy_id}", response_model=QosPolicyResponse, dependencies=[allow_query()])
async def update_policy(
    tenant_id: str, policy_id: str, body: QosPolicyUpdateRequest, caller: TenantCallerDep, writer: WriterDep,
    response: Response,
):  # fmt: skip
    """Replaces name and/or rules; new rules are re-applied to every port using the policy, in the
    order accepted (with `Prefer: wait`, the answer waits until they all are, or the wait is over)."""
    policy = qos_policy_of(writer.session, tenant_id, policy_id)
    row = await writes.update_policy(writer, policy=policy, update=body.qos_policy)
    preference_applied(response, writer.prefs)
    return {"qos_policy": qos_policy_body(row)}


@router.delete("/{policy_id}", status_code=204, response_class=Response, dependencies=[allow_query()])
def delete_policy(tenant_id: str, policy_id: str, caller: TenantCallerDep, writer: WriterDep):
    """204, or 409 QosPolicyInUse while a port or network names the policy."""
    writes.delete_policy(writer, policy=qos_policy_of(writer.session, tenant_id, policy_id))
    return empty_answer(204, writer.prefs)
