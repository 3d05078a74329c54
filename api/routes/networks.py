"""/v1.1/tenants/{tenant_id}/networks"""

from fastapi import APIRouter, Depends, Header, Response
from sqlalchemy import exists, select, update
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
from api.lookups import network_of
from api.outbox import accept, void
from api.problems import ERROR_RESPONSES, BadRequest, NetworkInUse, ResourceNotAvailable
from api.query import DetailQuery, StatusQuery, detail_flag, status_filter
from api.views import network_body, network_path, network_summary
from api.write_flow import deliver, preference_applied, require_engine, wait_applied
from netprov.operations import OpKind
from netprov.resources import NetworkCreateRequest, NetworkResponse, NetworksResponse, NetworkUpdateRequest
from netprov.status import PROVISIONING, NetworkStatus, ResourceType
from plugins.registry import UnknownPluginError, plugin_class
from store.projection import effective_status, effective_status_column
from store.tables import IdempotencyRow, NetworkRow, OperationRow, PortRow, utcnow

# The token and the tenant are checked before anything else about the request (query, body, ids).
router = APIRouter(
    prefix="/v1.1/tenants/{tenant_id}/networks",
    tags=["networks"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(tenant_caller)],
)
NETWORK = ResourceType.NETWORK.value


@router.get("", response_model=NetworksResponse, dependencies=[allow_query("detail", "status")])
def list_networks(
    tenant_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    detail: DetailQuery = None,
    status: StatusQuery = None,
):
    full = detail_flag(detail)
    wanted = status_filter(status, NetworkStatus)
    query = select(NetworkRow).where(NetworkRow.tenant_id == tenant_id).order_by(NetworkRow.created_at, NetworkRow.id)
    if wanted:
        effective = effective_status_column(NetworkRow)
        query = query.where(effective.in_(wanted))
    rows = session.execute(query).scalars().all()
    if full:
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
    session: SessionDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
    response: Response,
    idempotency_key: str | None = Header(default=None),
):
    idempotency.check_key(idempotency_key)
    plugin = body.network.plugin or settings.plugin
    try:
        plugin_class(plugin)
    except UnknownPluginError as error:
        raise BadRequest(str(error)) from None
    digest = idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/networks", body.model_dump())
    if idempotency_key:
        earlier = idempotency.find(session, tenant_id, idempotency_key, digest)
        if earlier is not None:
            return _replay(session, earlier.resource_id, tenant_id, settings, response)
    await require_engine(gateway, session)
    network_id = idempotency.resource_id_for(tenant_id, idempotency_key)
    row = NetworkRow(id=network_id, tenant_id=tenant_id, name=body.network.name, plugin=plugin, status=PROVISIONING)
    try:
        session.add(row)
        session.flush()
        op = accept(
            session,
            resource_type=NETWORK,
            resource_id=network_id,
            tenant_id=tenant_id,
            kind=OpKind.CREATE,
            op_id=f"{network_id}:create" if idempotency_key else None,
            progress="accepted; provisioning will start shortly",
        )
        if idempotency_key:
            idempotency.record(
                session, tenant_id=tenant_id, key=idempotency_key, digest=digest, resource_type=NETWORK, resource_id=network_id
            )
        session.commit()
    except IntegrityError:
        # A concurrent POST with the same key won the race: answer with its resource.
        session.rollback()
        earlier = idempotency.find(session, tenant_id, idempotency_key or "", digest)
        if earlier is None:
            raise
        return _replay(session, earlier.resource_id, tenant_id, settings, response)

    def undo() -> None:
        with Session(session.get_bind()) as cleanup:
            _remove_unstarted_network(cleanup, network_id)

    engine = session.get_bind()
    await deliver(gateway, engine, [op], undo)
    settled = await wait_applied(gateway, engine, NETWORK, network_id, op.seq, prefs)
    current = _reread(engine, network_id)
    response.headers["Location"] = network_path(tenant_id, network_id)
    preference_applied(response, prefs)
    if settled and current is not None and current.accepted_seq <= current.applied_seq:
        response.status_code = 201
    # Deleted meanwhile by another request: answer with the network as it was accepted.
    return {"network": network_body(current or row, settings)}


@router.get("/{network_id}", response_model=NetworkResponse, dependencies=[allow_query()])
async def show_network(tenant_id: str, network_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    return {"network": network_body(network_of(session, tenant_id, network_id), settings)}


@router.put("/{network_id}", status_code=204, response_class=Response, dependencies=[allow_query()])
def rename_network(
    tenant_id: str,
    network_id: str,
    body: NetworkUpdateRequest,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    prefs: PreferencesDep,
):
    """A rename touches no device: it is applied at once."""
    row = network_of(session, tenant_id, network_id)
    if strict_handling(prefs, settings) and effective_status(row)[0] != NetworkStatus.AVAILABLE:
        raise ResourceNotAvailable(f"Network {row.id} is {effective_status(row)[0]}; strict handling refuses changes until it is AVAILABLE.")
    session.execute(update(NetworkRow).where(NetworkRow.id == row.id).values(name=body.network.name, updated_at=utcnow()))
    session.commit()
    response = Response(status_code=204)
    preference_applied(response, prefs)
    return response


@router.delete(
    "/{network_id}",
    status_code=204,
    response_class=Response,
    dependencies=[allow_query()],
    responses={202: {"description": "Accepted: deprovisioning runs, then the network disappears"}},
)
async def delete_network(
    tenant_id: str,
    network_id: str,
    caller: TenantCallerDep,
    session: SessionDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
):
    """Deletes the network and its ports (none may have an attachment); cancels provisioning."""
    row = network_of(session, tenant_id, network_id)
    if row.deleting:
        return await _already_deleting(gateway, session, row, prefs)
    attached = session.execute(
        select(exists().where(PortRow.network_id == row.id, PortRow.attachment_id.is_not(None)))
    ).scalar()
    if attached:
        raise NetworkInUse(f"Network {row.id} still has ports with attachments; detach them first.")
    await require_engine(gateway, session)
    engine = session.get_bind()
    claimed = session.execute(
        update(NetworkRow).where(NetworkRow.id == row.id, NetworkRow.deleting == False).values(deleting=True)  # noqa: E712
    ).rowcount
    if not claimed:
        session.rollback()
        return await _already_deleting(gateway, session, row, prefs)
    ports = session.execute(
        select(PortRow.id).where(PortRow.network_id == row.id, PortRow.deleting == False)  # noqa: E712
    ).scalars().all()
    network_op = accept(
        session, resource_type=NETWORK, resource_id=row.id, tenant_id=tenant_id, kind=OpKind.DELETE,
        progress="deleting", port_ids=list(ports),
    )
    port_ops = []
    for port_id in ports:
        session.execute(update(PortRow).where(PortRow.id == port_id).values(deleting=True))
        port_ops.append(
            accept(session, resource_type=ResourceType.PORT.value, resource_id=port_id, tenant_id=tenant_id,
                   kind=OpKind.DELETE, progress="deleting with its network")
        )
    session.commit()
    ops = [network_op, *port_ops]

    def undo() -> None:
        with Session(engine) as cleanup:
            cleanup.execute(update(NetworkRow).where(NetworkRow.id == row.id).values(deleting=False))
            cleanup.execute(update(PortRow).where(PortRow.id.in_(ports)).values(deleting=False))
            cleanup.commit()
        for op in ops:
            void(engine, op.op_id)

    await deliver(gateway, engine, ops, undo)
    gone = await wait_applied(gateway, engine, NETWORK, row.id, network_op.seq, prefs)
    response = Response(status_code=204 if gone and _gone(engine, row.id) else 202)
    preference_applied(response, prefs)
    return response


def _reread(engine, network_id: str) -> NetworkRow | None:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(NetworkRow, network_id)
        if row is not None:
            session.expunge(row)
        return row


def _gone(engine, network_id: str) -> bool:
    with Session(engine) as session:
        return session.get(NetworkRow, network_id) is None


async def _already_deleting(gateway, session: Session, row: NetworkRow, prefs) -> Response:
    """A DELETE repeated while an earlier one runs: 202, or 204 once the network is gone (with
    `Prefer: wait`, waiting for it like the first DELETE)."""
    network_id, seq, engine = row.id, max(row.accepted_seq, 1), session.get_bind()
    session.commit()  # no connection held across the wait
    await wait_applied(gateway, engine, NETWORK, network_id, seq, prefs)
    response = Response(status_code=204 if _gone(engine, network_id) else 202)
    preference_applied(response, prefs)
    return response


def _remove_unstarted_network(session: Session, network_id: str) -> None:
    session.execute(OperationRow.__table__.delete().where(OperationRow.resource_id == network_id))
    session.execute(IdempotencyRow.__table__.delete().where(IdempotencyRow.resource_id == network_id))
    session.execute(NetworkRow.__table__.delete().where(NetworkRow.id == network_id))
    session.commit()


def _replay(session: Session, network_id: str, tenant_id: str, settings, response: Response):
    row = session.get(NetworkRow, network_id)
    if row is None:
        raise BadRequest("The network created with this Idempotency-Key has since been deleted.")
    response.headers["Location"] = network_path(tenant_id, network_id)
    response.status_code = 202 if effective_status(row)[0] == PROVISIONING else 201
    return {"network": network_body(row, settings)}

