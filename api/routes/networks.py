"""/v1.1/tenants/{tenant_id}/networks: the v1.1 shapes of the network writes in api/writes/networks.py."""

from fastapi import APIRouter, Depends, Header, Response

from api.deps import SessionDep, SettingsDep, TenantCallerDep, allow_query, tenant_caller
from api.lookups import network_of
from api.problems import ERROR_RESPONSES
from api.query import DetailQuery, StatusQuery, detail_flag, status_filter
from api.views import created_status, network_body, network_path, network_summary
from api.write_flow import WriterDep, empty_answer, preference_applied
from api.writes import networks as writes
from api.writes import port_qos
from netprov.resources import NetworkCreateRequest, NetworkResponse, NetworksResponse, NetworkUpdateRequest
from netprov.status import NetworkStatus
from store import networks

# The token and the tenant are checked before anything else about the request (query, body, ids).
router = APIRouter(
    prefix="/v1.1/tenants/{tenant_id}/networks",
    tags=["networks"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(tenant_caller)],
)


@router.get("", response_model=NetworksResponse, dependencies=[allow_query("detail", "status")])
def list_networks(
    tenant_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    detail: DetailQuery = None,
    status: StatusQuery = None,
):
    rows = networks.list_rows(session, tenant_id=tenant_id, statuses=status_filter(status, NetworkStatus))
    if detail_flag(detail):
        return {"networks": [network_body(r, settings) for r in rows]}
    return {"networks": [network_summary(r) for r in rows]}


@router.post(
    "",
    status_code=202,
    response_model=NetworkResponse,
    dependencies=[allow_query()],
    responses={201: {"model": NetworkResponse, "description": "Settled within `Prefer: wait`, or an idempotent replay of a settled one"}},
)
async def create_network(
    tenant_id: str,
    body: NetworkCreateRequest,
    caller: TenantCallerDep,
    writer: WriterDep,
    response: Response,
    idempotency_key: str | None = Header(default=None),
):
    written = await writes.create_network(writer, tenant_id=tenant_id, network=body.network, idempotency_key=idempotency_key)
    row = written.row or written.claimed  # deleted meanwhile: the network as it was accepted
    response.headers["Location"] = network_path(tenant_id, row.id)
    response.status_code = created_status(written)
    if not written.replay:
        preference_applied(response, writer.prefs)
    return {"network": network_body(row, writer.settings)}


@router.get("/{network_id}", response_model=NetworkResponse, dependencies=[allow_query()])
def show_network(tenant_id: str, network_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    return {"network": network_body(network_of(session, tenant_id, network_id), settings)}


@router.put("/{network_id}", status_code=204, response_class=Response, dependencies=[allow_query()])
async def update_network(tenant_id: str, network_id: str, body: NetworkUpdateRequest, caller: TenantCallerDep, writer: WriterDep):
    """A rename touches no device: it is applied at once. A new `qos_policy_id` (null clears) is
    applied to the network's ports without a policy of their own (with `Prefer: wait`, the answer
    waits until it is)."""
    update = body.network
    network = network_of(writer.session, tenant_id, network_id)
    policy = port_qos.named_policy(writer, tenant_id, update.qos_policy_id)
    writes.update_network(writer, network=network, update=update)
    if "qos_policy_id" in update.model_fields_set:
        await port_qos.set_network_policy(writer, network=network_of(writer.session, tenant_id, network_id), policy=policy)
    return empty_answer(204, writer.prefs)


@router.delete(
    "/{network_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: deprovisioning runs, then the network disappears"}},
)
async def delete_network(tenant_id: str, network_id: str, caller: TenantCallerDep, writer: WriterDep):
    """Deletes the network and its ports (none may have an attachment); cancels provisioning."""
    written = await writes.delete_network(writer, network=network_of(writer.session, tenant_id, network_id))
    return empty_answer(204 if written.row is None else 202, writer.prefs)

