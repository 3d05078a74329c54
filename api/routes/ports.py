"""/v1.1/tenants/{tenant_id}/networks/{network_id}/ports and their attachment: the v1.1 shapes of
the writes in api/writes/ports.py and api/writes/attachments.py."""

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from api import idempotency
from api.deps import SessionDep, SettingsDep, TenantCallerDep, allow_query, tenant_caller
from api.lookups import network_of, port_of
from api.problems import ERROR_RESPONSES
from api.query import DetailQuery, StatusQuery, detail_flag, status_filter
from api.views import attachment_body, created_status, port_body, port_path
from api.write_flow import WriterDep, empty_answer, preference_applied
from api.writes import attachments as attachment_writes
from api.writes import ports as writes
from netprov.resources import (
    AttachmentPutRequest,
    AttachmentResponse,
    PortBody,
    PortCreateRequest,
    PortResponse,
    PortsResponse,
    PortUpdateRequest,
)
from netprov.status import AttachmentStatus, PortStatus
from store import ports

router = APIRouter(
    prefix="/v1.1/tenants/{tenant_id}/networks/{network_id}/ports",
    tags=["ports"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(tenant_caller)],
)
_PORT_BODIES = TypeAdapter(list[PortBody])


@router.get("", response_model=PortsResponse, dependencies=[allow_query("detail", "status")])
def list_ports(
    tenant_id: str,
    network_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    detail: DetailQuery = None,
    status: StatusQuery = None,
):
    network = network_of(session, tenant_id, network_id)
    full = detail_flag(detail)
    rows = ports.list_rows(session, network_id=network.id, statuses=status_filter(status, PortStatus), full=full)
    # A network may have 10,000 ports (bench/ lists them in well under 300 ms): the answer is
    # serialized once instead of re-validated against the response model.
    if full:
        policy = network.qos_policy_id
        return Response(b'{"ports":' + _PORT_BODIES.dump_json([port_body(r, settings, policy) for r in rows]) + b"}",
                        media_type="application/json")
    return JSONResponse({"ports": [{"id": id_, "state": state, "status": status} for id_, state, status in rows]})


@router.post(
    "",
    status_code=202,
    response_model=PortResponse,
    dependencies=[allow_query()],
    responses={201: {"model": PortResponse, "description": "Settled within `Prefer: wait`, or an idempotent replay of a settled one"}},
)
async def create_port(
    tenant_id: str,
    network_id: str,
    caller: TenantCallerDep,
    writer: WriterDep,
    response: Response,
    body: PortCreateRequest | None = None,
    idempotency_key: str | None = Header(default=None),
):
    idempotency.check_key(idempotency_key)  # before the lookup, as ever: a bad key is 400 whatever the path
    network = network_of(writer.session, tenant_id, network_id)
    asked = (body or PortCreateRequest()).port
    written = await writes.create_port(writer, network=network, port=asked, idempotency_key=idempotency_key)
    row = written.row or written.claimed
    response.headers["Location"] = port_path(row.tenant_id, row.network_id, row.id)
    response.status_code = created_status(written)
    if not written.replay:
        preference_applied(response, writer.prefs)
    return {"port": port_body(row, writer.settings, network.qos_policy_id)}


# Read handlers are synchronous: FastAPI runs them on its thread pool, off the event loop (api/db_threads.py).
@router.get("/{port_id}", response_model=PortResponse, dependencies=[allow_query()])
def show_port(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    port = port_of(session, tenant_id, network_id, port_id)
    return {"port": port_body(port, settings, network_of(session, tenant_id, network_id).qos_policy_id)}


@router.put(
    "/{port_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={200: {"model": PortResponse, "description": "With `Prefer: wait`: the port as the wait left it"}},
)
async def update_port(
    tenant_id: str, network_id: str, port_id: str, body: PortUpdateRequest, caller: TenantCallerDep, writer: WriterDep
):
    port = port_of(writer.session, tenant_id, network_id, port_id)
    written = await writes.update_port(writer, port=port, update=body.port)
    if not writer.prefs.wait or written.row is None:
        return empty_answer(204, writer.prefs)
    network = network_of(writer.session, tenant_id, network_id)
    response = Response(PortResponse(port=port_body(written.row, writer.settings, network.qos_policy_id)).model_dump_json(), 200,
                        media_type="application/json")  # fmt: skip
    preference_applied(response, writer.prefs)
    return response


@router.delete(
    "/{port_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: deprovisioning runs, then the port disappears"}},
)
async def delete_port(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, writer: WriterDep):
    written = await writes.delete_port(writer, port=port_of(writer.session, tenant_id, network_id, port_id))
    return empty_answer(204 if written.row is None else 202, writer.prefs)


@router.get("/{port_id}/attachment", response_model=AttachmentResponse, dependencies=[allow_query()])
def show_attachment(
    tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep
):
    return {"attachment": attachment_body(port_of(session, tenant_id, network_id, port_id), settings)}


@router.put(
    "/{port_id}/attachment",
    status_code=202,
    response_model=AttachmentResponse,
    dependencies=[allow_query()],
    responses={200: {"model": AttachmentResponse, "description": "Already attached as asked, or settled within `Prefer: wait`"}},
)
async def put_attachment(
    tenant_id: str,
    network_id: str,
    port_id: str,
    body: AttachmentPutRequest,
    caller: TenantCallerDep,
    writer: WriterDep,
    response: Response,
):
    port = port_of(writer.session, tenant_id, network_id, port_id)
    written = await attachment_writes.attach(writer, port=port, attachment=body.attachment)
    row = written.row
    if written.accepted:
        preference_applied(response, writer.prefs)
    if not written.accepted or (written.applied and row is not None and row.attachment_status != AttachmentStatus.PROVISIONING):
        response.status_code = 200
    return {"attachment": attachment_body(row, writer.settings) if row is not None else None}


@router.delete(
    "/{port_id}/attachment",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: the interface is being unplugged"}},
)
async def delete_attachment(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, writer: WriterDep):
    written = await attachment_writes.detach(writer, port=port_of(writer.session, tenant_id, network_id, port_id))
    return empty_answer(204 if written.applied else 202, writer.prefs)
