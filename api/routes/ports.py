"""/v1.1/tenants/{tenant_id}/networks/{network_id}/ports and their attachment."""

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api import idempotency
from api.deps import (
    GatewayDep,
    PreferencesDep,
    SessionDep,
    SettingsDep,
    TenantCallerDep,
    allow_query,
    strict_handling,
    tenant_caller,
)
from api.lookups import network_of, port_of
from api.outbox import accept, void
from api.problems import (
    ERROR_RESPONSES,
    AlreadyAttached,
    BadRequest,
    PortInUse,
    RequestedStateInvalid,
    ResourceNotAvailable,
)
from api.query import DetailQuery, StatusQuery, detail_flag, status_filter
from api.views import attachment_body, port_body, port_path
from api.write_flow import deliver, preference_applied, require_engine, wait_applied
from netprov.operations import OpKind
from netprov.resources import (
    AttachmentPutRequest,
    AttachmentResponse,
    PortBody,
    PortCreateRequest,
    PortResponse,
    PortsResponse,
    PortUpdateRequest,
)
from netprov.status import NO_ATTACHMENT, PROVISIONING, AdminState, AttachmentStatus, LinkStatus, NetworkStatus, PortStatus, ResourceType
from store.projection import effective_status, effective_status_column
from store.tables import IdempotencyRow, OperationRow, PortRow

router = APIRouter(
    prefix="/v1.1/tenants/{tenant_id}/networks/{network_id}/ports",
    tags=["ports"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(tenant_caller)],
)
PORT = ResourceType.PORT.value
_PORT_BODIES = TypeAdapter(list[PortBody])
SETTLED_PORT = (PortStatus.ACTIVE, PortStatus.DOWN)


def _admin_state(value: str | None) -> str:
    # Only an absent state defaults to DOWN: an empty string is an invalid state, not a default.
    state = (AdminState.DOWN.value if value is None else value).upper()
    if state not in AdminState.__members__:
        raise RequestedStateInvalid(f"state {str(value)[:40]!r} is not ACTIVE or DOWN.")
    return state


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
    wanted = status_filter(status, PortStatus)
    effective = effective_status_column(PortRow)
    # A network may have 10,000 ports (bench/ lists them in well under 300 ms): plain rows through the
    # session's connection instead of ORM objects, and the answer serialized once instead of re-validated
    # against the response model.
    columns = PortRow.__table__.columns if full else (PortRow.id, PortRow.state, effective.label("status"))
    query = select(*columns).where(PortRow.network_id == network.id).order_by(PortRow.created_at, PortRow.id)
    if wanted:
        query = query.where(effective.in_(wanted))
    rows = session.connection().execute(query).all()
    if full:
        return Response(b'{"ports":' + _PORT_BODIES.dump_json([port_body(r, settings) for r in rows]) + b"}",
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
    session: SessionDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
    response: Response,
    body: PortCreateRequest | None = None,
    idempotency_key: str | None = Header(default=None),
):
    idempotency.check_key(idempotency_key)
    network = network_of(session, tenant_id, network_id)
    body = body or PortCreateRequest()
    state = _admin_state(body.port.state)
    network_status, network_reason = effective_status(network)
    if network.deleting:
        raise ResourceNotAvailable(f"Network {network.id} is being deleted.")
    if network_status == NetworkStatus.ERROR:
        raise ResourceNotAvailable(f"Network {network.id} is in ERROR ({network_reason}); no new ports on it.")
    if strict_handling(prefs, settings) and network_status != NetworkStatus.AVAILABLE:
        raise ResourceNotAvailable(f"Network {network.id} is {network_status}; strict handling needs it AVAILABLE.")
    digest = idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/networks/{network.id}/ports", {"state": state})
    if idempotency_key:
        earlier = idempotency.find(session, tenant_id, idempotency_key, digest)
        if earlier is not None:
            return _replay(session, earlier.resource_id, settings, response)
    await require_engine(gateway, session)
    port_id = idempotency.resource_id_for(tenant_id, idempotency_key)
    row = PortRow(
        id=port_id,
        tenant_id=tenant_id,
        network_id=network.id,
        state=state,
        status=PROVISIONING,
        link_status=LinkStatus.DOWN.value,
        link_status_string=NO_ATTACHMENT,
    )
    try:
        session.add(row)
        session.flush()
        op = accept(
            session,
            resource_type=PORT,
            resource_id=port_id,
            tenant_id=tenant_id,
            kind=OpKind.CREATE,
            op_id=f"{port_id}:create" if idempotency_key else None,
            progress="accepted; provisioning will start shortly",
            state=state,
        )
        if idempotency_key:
            idempotency.record(session, tenant_id=tenant_id, key=idempotency_key, digest=digest, resource_type=PORT, resource_id=port_id)
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = idempotency.find(session, tenant_id, idempotency_key or "", digest)
        if earlier is None:
            raise
        return _replay(session, earlier.resource_id, settings, response)
    engine = session.get_bind()

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(OperationRow.__table__.delete().where(OperationRow.resource_id == port_id))
            cleanup.execute(IdempotencyRow.__table__.delete().where(IdempotencyRow.resource_id == port_id))
            cleanup.execute(PortRow.__table__.delete().where(PortRow.id == port_id))
            cleanup.commit()

    await deliver(gateway, engine, [op], undo)
    settled = await wait_applied(gateway, engine, PORT, port_id, op.seq, prefs)
    row = _reread(engine, port_id)
    response.headers["Location"] = port_path(tenant_id, network.id, port_id)
    preference_applied(response, prefs)
    if settled and row is not None and row.applied_seq >= row.accepted_seq:
        response.status_code = 201
    return {"port": port_body(row, settings)}


# Single-resource reads run on the event loop: two indexed SQLite reads cost far less than the hop to
# the thread pool a plain `def` takes (bench/: GET p50 17 ms -> 3 ms on a busy 2-core machine).
@router.get("/{port_id}", response_model=PortResponse, dependencies=[allow_query()])
async def show_port(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    return {"port": port_body(port_of(session, tenant_id, network_id, port_id), settings)}


@router.put(
    "/{port_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={200: {"model": PortResponse, "description": "With `Prefer: wait`: the port as the wait left it"}},
)
async def update_port(
    tenant_id: str,
    network_id: str,
    port_id: str,
    body: PortUpdateRequest,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
):
    row = port_of(session, tenant_id, network_id, port_id)
    state = _admin_state(body.port.state)
    _check_writable(row, prefs, settings)
    engine = session.get_bind()
    if state == row.state:
        # PUT is idempotent: the state asked for is already the one accepted; nothing to apply.
        if not prefs.wait:
            return Response(status_code=204)
        await wait_applied(gateway, engine, PORT, row.id, row.accepted_seq, prefs)
        return _port_response(engine, row.id, settings, prefs, status_code=200)
    await require_engine(gateway, session)
    previous = row.state
    session.execute(update(PortRow).where(PortRow.id == row.id).values(state=state))
    op = accept(session, resource_type=PORT, resource_id=row.id, tenant_id=tenant_id, kind=OpKind.UPDATE,
                progress=f"setting admin state {state}", state=state)
    session.commit()

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(update(PortRow).where(PortRow.id == row.id).values(state=previous))
            cleanup.commit()
        void(engine, op.op_id)

    await deliver(gateway, engine, [op], undo)
    if not prefs.wait:
        response = Response(status_code=204)
        preference_applied(response, prefs)
        return response
    await wait_applied(gateway, engine, PORT, row.id, op.seq, prefs)
    return _port_response(engine, row.id, settings, prefs, status_code=200)


@router.delete(
    "/{port_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: deprovisioning runs, then the port disappears"}},
)
async def delete_port(
    tenant_id: str,
    network_id: str,
    port_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
):
    row = port_of(session, tenant_id, network_id, port_id)
    if row.attachment_id is not None:
        raise PortInUse(f"Port {row.id} has attachment {row.attachment_id!r}; detach it first.")
    if row.deleting:
        return await _already_deleting(gateway, session, row, prefs)
    await require_engine(gateway, session)
    claimed = session.execute(
        update(PortRow).where(PortRow.id == row.id, PortRow.deleting == False, PortRow.attachment_id.is_(None))  # noqa: E712
        .values(deleting=True)
    ).rowcount
    if not claimed:
        session.rollback()
        return await _already_deleting(gateway, session, row, prefs)
    op = accept(session, resource_type=PORT, resource_id=row.id, tenant_id=tenant_id, kind=OpKind.DELETE, progress="deleting")
    session.commit()
    engine = session.get_bind()

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(update(PortRow).where(PortRow.id == row.id).values(deleting=False))
            cleanup.commit()
        void(engine, op.op_id)

    await deliver(gateway, engine, [op], undo)
    await wait_applied(gateway, engine, PORT, row.id, op.seq, prefs)
    response = Response(status_code=204 if _reread(engine, row.id) is None else 202)
    preference_applied(response, prefs)
    return response


@router.get("/{port_id}/attachment", response_model=AttachmentResponse, dependencies=[allow_query()])
async def show_attachment(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep):
    return {"attachment": attachment_body(port_of(session, tenant_id, network_id, port_id))}


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
    session: SessionDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
    response: Response,
):
    row = port_of(session, tenant_id, network_id, port_id)
    iface, host = body.attachment.id, body.attachment.host or settings.default_host
    if row.attachment_id == iface and row.attachment_host == host:
        response.status_code = 200
        return {"attachment": attachment_body(row)}
    if row.attachment_id is not None:
        raise AlreadyAttached(f"Port {row.id} already has attachment {row.attachment_id!r}; detach it first.")
    _check_writable(row, prefs, settings)
    await require_engine(gateway, session)
    try:
        claimed = session.execute(
            update(PortRow)
            .where(PortRow.id == row.id, PortRow.attachment_id.is_(None), PortRow.deleting == False)  # noqa: E712
            .values(
                attachment_id=iface,
                attachment_host=host,
                attachment_status=AttachmentStatus.PROVISIONING.value,
                attachment_reason=None,
            )
        ).rowcount
    except IntegrityError:
        session.rollback()
        raise PortInUse(f"Interface {iface!r} is already plugged into another port.") from None
    if not claimed:
        session.rollback()
        raise AlreadyAttached(f"Port {row.id} got another attachment or is being deleted.")
    op = accept(session, resource_type=PORT, resource_id=row.id, tenant_id=tenant_id, kind=OpKind.ATTACH,
                progress=f"plugging interface {iface} on host {host}", iface_id=iface, host=host)
    session.commit()
    engine = session.get_bind()

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(
                update(PortRow).where(PortRow.id == row.id, PortRow.attachment_id == iface)
                .values(attachment_id=None, attachment_host=None, attachment_status=None, attachment_reason=None)
            )
            cleanup.commit()
        void(engine, op.op_id)

    await deliver(gateway, engine, [op], undo)
    settled = await wait_applied(gateway, engine, PORT, row.id, op.seq, prefs)
    current = _reread(engine, row.id)
    preference_applied(response, prefs)
    if settled and current is not None and current.attachment_status != AttachmentStatus.PROVISIONING:
        response.status_code = 200
    return {"attachment": attachment_body(current) if current else None}


@router.delete(
    "/{port_id}/attachment",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: the interface is being unplugged"}},
)
async def delete_attachment(
    tenant_id: str,
    network_id: str,
    port_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
):
    row = port_of(session, tenant_id, network_id, port_id)
    if row.attachment_id is None:
        response = Response(status_code=204)
        preference_applied(response, prefs)
        return response
    await require_engine(gateway, session)
    old = {
        "attachment_id": row.attachment_id,
        "attachment_host": row.attachment_host,
        "attachment_status": row.attachment_status,
        "attachment_reason": row.attachment_reason,
    }
    claimed = session.execute(
        update(PortRow).where(PortRow.id == row.id, PortRow.attachment_id == row.attachment_id)
        .values(attachment_id=None, attachment_host=None, attachment_status=None, attachment_reason=None)
    ).rowcount
    if not claimed:
        session.rollback()
        return _accepted(prefs)
    op = accept(session, resource_type=PORT, resource_id=row.id, tenant_id=tenant_id, kind=OpKind.DETACH,
                progress=f"unplugging interface {old['attachment_id']}", iface_id=old["attachment_id"], host=old["attachment_host"])
    session.commit()
    engine = session.get_bind()

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(update(PortRow).where(PortRow.id == row.id, PortRow.attachment_id.is_(None)).values(**old))
            cleanup.commit()
        void(engine, op.op_id)

    await deliver(gateway, engine, [op], undo)
    applied = await wait_applied(gateway, engine, PORT, row.id, op.seq, prefs)
    response = Response(status_code=204 if applied else 202)
    preference_applied(response, prefs)
    return response


def _check_writable(row: PortRow, prefs, settings) -> None:
    if row.deleting:
        raise ResourceNotAvailable(f"Port {row.id} is being deleted.")
    status = effective_status(row)[0]
    if strict_handling(prefs, settings) and status not in SETTLED_PORT:
        raise ResourceNotAvailable(f"Port {row.id} is {status}; strict handling needs it ACTIVE or DOWN.")


def _reread(engine, port_id: str) -> PortRow | None:
    with Session(engine) as session:
        row = session.get(PortRow, port_id)
        if row is not None:
            session.expunge(row)
        return row


def _port_response(engine, port_id: str, settings, prefs, status_code: int) -> Response:
    row = _reread(engine, port_id)
    response = Response(
        content=PortResponse(port=port_body(row, settings)).model_dump_json() if row else b"",
        status_code=status_code if row else 204,
        media_type="application/json",
    )
    preference_applied(response, prefs)
    return response


async def _already_deleting(gateway, session: Session, row: PortRow, prefs) -> Response:
    """A DELETE repeated while an earlier one runs: 202, or 204 once the port is gone (with
    `Prefer: wait`, waiting for it like the first DELETE)."""
    port_id, seq, engine = row.id, max(row.accepted_seq, 1), session.get_bind()
    session.commit()  # no connection held across the wait
    await wait_applied(gateway, engine, PORT, port_id, seq, prefs)
    response = Response(status_code=204 if _reread(engine, port_id) is None else 202)
    preference_applied(response, prefs)
    return response


def _accepted(prefs) -> Response:
    response = Response(status_code=202)
    preference_applied(response, prefs)
    return response


def _replay(session: Session, port_id: str, settings, response: Response):
    row = session.get(PortRow, port_id)
    if row is None:
        raise BadRequest("The port created with this Idempotency-Key has since been deleted.")
    response.headers["Location"] = port_path(row.tenant_id, row.network_id, row.id)
    response.status_code = 202 if effective_status(row)[0] == PROVISIONING else 201
    return {"port": port_body(row, settings)}
