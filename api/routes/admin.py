"""Operator actions on one network or port, through the API rather than the database:

    POST .../networks/{id}/actions/retry                    re-drive a network in ERROR
    POST .../networks/{id}/ports/{port_id}/actions/retry    re-drive a port (or its attachment) in ERROR
    POST .../networks/{id}/actions/cancel                   stop the operation in flight
    POST .../networks/{id}/ports/{port_id}/actions/cancel
    GET  .../networks/{id}/history                          operations, workflow runs, events
    GET  .../networks/{id}/ports/{port_id}/history

Who: the tenant's own token or an admin token, like every other call on the tenant's resources.
A tenant could delete and re-create what it retries, so retry gives it no power it lacks; cancel
only ever turns its own resource to ERROR.

Retry accepts an operation of kind RETRY (outbox, in order with the others): the network's
workflow provisions it again, the port's provisions the port again and re-plugs a failed
attachment. Only a resource in ERROR (for a port: or its attachment) can be retried (409
NothingToRetry otherwise), and a port only once its network is not in ERROR.

Cancel signals the resource's workflow (`cancel_operation`): the operation in flight stops at once
and ends in ERROR "cancelled by operator ..." (a cancelled plug fails the attachment only);
operations queued after it still apply, in order. Plugin changes already made are left in place
(RETRY re-applies them idempotently, DELETE removes them). A DELETE in progress cannot be
cancelled, and a resource that is not PROVISIONING has nothing to cancel (409 NothingToCancel).
DELETE itself also cancels provisioning, and removes the resource.
"""

import asyncio
from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode

from api.deps import GatewayDep, PreferencesDep, SessionDep, SettingsDep, TenantCallerDep, allow_query
from api.lookups import network_of, port_of
from api.outbox import accept, void
from api.problems import ERROR_RESPONSES, NothingToCancel, NothingToRetry, ResourceNotAvailable
from api.views import network_body, port_body
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from api.write_flow import deliver, engine_down, preference_applied, require_engine, wait_applied
from api.writes.port_qos import effective_spec
from netprov.naming import Signal, network_workflow_id, port_workflow_id
from netprov.operations import OpKind
from netprov.resources import (
    EventData,
    HistoryBody,
    HistoryResponse,
    NetworkResponse,
    OperationRecord,
    PortResponse,
    StatusEvent,
    WorkflowRun,
)
from netprov.settings import Settings
from netprov.status import ERROR, PROVISIONING, AttachmentStatus, NetworkStatus, ResourceType
from store import events, qos_policies
from store.projection import effective_status
from store.tables import NetworkRow, OperationRow, PortRow


def settled(model: type) -> dict:
    """The 200 an action answers when the resource settled within `Prefer: wait` (202 otherwise)."""
    return {200: {"model": model, "description": "Settled within `Prefer: wait`: the status reached."}}


router = APIRouter(prefix="/v1.1/tenants/{tenant_id}/networks/{network_id}", tags=["operator actions"], responses=ERROR_RESPONSES)
NETWORK, PORT = ResourceType.NETWORK.value, ResourceType.PORT.value
RUNS_SHOWN = 100
RPC_TIMEOUT = timedelta(seconds=5)


# -- retry --------------------------------------------------------------------------------------


@router.post("/actions/retry", status_code=202, response_model=NetworkResponse, responses=settled(NetworkResponse),
             dependencies=[allow_query()])
async def retry_network(
    tenant_id: str, network_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep,
    gateway: GatewayDep, prefs: PreferencesDep, response: Response,
):
    """Provision a network in ERROR again (its ports in ERROR are retried one by one)."""
    row = network_of(session, tenant_id, network_id)
    status, reason = effective_status(row)
    _check_retryable(row, "Network", status, reason, failed=status == ERROR)
    engine = await _retry(session, gateway, prefs, NETWORK, row.id, tenant_id, response, network_name=row.name)
    return {"network": network_body(_reread(engine, NetworkRow, row.id) or row, settings)}


@router.post("/ports/{port_id}/actions/retry", status_code=202, response_model=PortResponse, responses=settled(PortResponse),
             dependencies=[allow_query()])
async def retry_port(
    tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep,
    gateway: GatewayDep, prefs: PreferencesDep, response: Response,
):
    """Provision a port in ERROR again, and plug its attachment again when that failed."""
    row = port_of(session, tenant_id, network_id, port_id)
    status, reason = effective_status(row)
    failed = status == ERROR or (status != PROVISIONING and row.attachment_status == AttachmentStatus.ERROR)
    _check_retryable(row, "Port", status, reason, failed=failed)
    network = session.get(NetworkRow, row.network_id)
    network_status, network_reason = effective_status(network)
    if network_status == NetworkStatus.ERROR:
        raise ResourceNotAvailable(
            f"Network {network.id} is in ERROR ({network_reason}); retry the network first, then its ports."
        )
    # The policy that applies goes along: the retried provisioning and plug put it on again.
    own = qos_policies.get(session, policy_id=row.qos_policy_id) if row.qos_policy_id else None
    qos = effective_spec(session, own, network)
    engine = await _retry(session, gateway, prefs, PORT, row.id, tenant_id, response, network_name=network.name, qos=qos)
    return {"port": port_body(_reread(engine, PortRow, row.id) or row, settings)}


def _check_retryable(row, what: str, status: str, reason: str | None, failed: bool) -> None:
    if row.deleting:
        raise ResourceNotAvailable(f"{what} {row.id} is being deleted.")
    if status == PROVISIONING:
        raise NothingToRetry(f"{what} {row.id} is PROVISIONING ({reason}); wait for it, or cancel it first.")
    if not failed:
        raise NothingToRetry(f"{what} {row.id} is {status}; only a resource in ERROR can be retried.")


async def _retry(session: Session, gateway: WorkflowGateway, prefs, resource_type: str, resource_id: str, tenant_id: str,
                 response: Response, network_name: str, qos: dict | None = None) -> Engine:
    await require_engine(gateway)
    op = accept(session, resource_type=resource_type, resource_id=resource_id, tenant_id=tenant_id, kind=OpKind.RETRY,
                progress="retrying on operator request", network_name=network_name, qos=qos)
    session.commit()
    engine = session.get_bind()
    op_id, seq = op.op_id, op.seq
    await deliver(gateway, engine, [op], lambda: void(engine, op_id))
    if await wait_applied(gateway, engine, resource_type, resource_id, seq, prefs):
        response.status_code = 200
    preference_applied(response, prefs)
    return engine


# -- cancel -------------------------------------------------------------------------------------


@router.post("/actions/cancel", status_code=202, response_model=NetworkResponse, responses=settled(NetworkResponse),
             dependencies=[allow_query()])
async def cancel_network(
    tenant_id: str, network_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep,
    gateway: GatewayDep, prefs: PreferencesDep, response: Response,
):
    """Stop the operation in flight on a network; it ends in ERROR, and the ports waiting for it too."""
    row = network_of(session, tenant_id, network_id)
    engine = await _cancel(row, "Network", network_workflow_id(row.id), NETWORK, caller.token_id, gateway, session, prefs, response)
    return {"network": network_body(_reread(engine, NetworkRow, row.id) or row, settings)}


@router.post("/ports/{port_id}/actions/cancel", status_code=202, response_model=PortResponse, responses=settled(PortResponse),
             dependencies=[allow_query()])
async def cancel_port(
    tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep,
    gateway: GatewayDep, prefs: PreferencesDep, response: Response,
):
    """Stop the operation in flight on a port (e.g. waiting for a stuck network, or plugging)."""
    row = port_of(session, tenant_id, network_id, port_id)
    engine = await _cancel(row, "Port", port_workflow_id(row.id), PORT, caller.token_id, gateway, session, prefs, response)
    return {"port": port_body(_reread(engine, PortRow, row.id) or row, settings)}


async def _cancel(row, what: str, workflow_id: str, resource_type: str, token_id: str, gateway: WorkflowGateway,
                  session: Session, prefs, response: Response) -> Engine:
    status, _ = effective_status(row)
    if row.deleting:
        raise ResourceNotAvailable(f"{what} {row.id} is being deleted; a deletion cannot be cancelled.")
    if status != PROVISIONING:
        raise NothingToCancel(f"{what} {row.id} is {status}: no operation is in progress.")
    in_flight = row.applied_seq + 1
    try:
        client = await gateway.client()
        await client.get_workflow_handle(workflow_id).signal(
            Signal.CANCEL_OPERATION, f"cancelled by operator (token {token_id})", rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise NothingToCancel(
                f"{what} {row.id} has no workflow run in progress: its operation waits to be delivered "
                "(the outbox retries every few seconds) or has just finished. Try again, or DELETE it."
            ) from None
        raise engine_down(error) from error
    except EngineUnavailable as error:
        raise engine_down(error) from error
    session.close()
    engine = session.get_bind()
    if await wait_applied(gateway, engine, resource_type, row.id, in_flight, prefs):
        response.status_code = 200
    preference_applied(response, prefs)
    return engine


# -- history ------------------------------------------------------------------------------------


@router.get("/history", response_model=HistoryResponse, dependencies=[allow_query()])
async def network_history(tenant_id: str, network_id: str, caller: TenantCallerDep, session: SessionDep,
                          settings: SettingsDep, gateway: GatewayDep):
    """The network's accepted operations, the workflow runs that applied them, its recent events."""
    row = network_of(session, tenant_id, network_id)
    return {"history": await _history(session, gateway, settings, NETWORK, row, network_workflow_id(row.id))}


@router.get("/ports/{port_id}/history", response_model=HistoryResponse, dependencies=[allow_query()])
async def port_history(tenant_id: str, network_id: str, port_id: str, caller: TenantCallerDep, session: SessionDep,
                       settings: SettingsDep, gateway: GatewayDep):
    """The port's accepted operations (attachment ones included), workflow runs and recent events."""
    row = port_of(session, tenant_id, network_id, port_id)
    return {"history": await _history(session, gateway, settings, PORT, row, port_workflow_id(row.id))}


async def _history(session: Session, gateway: WorkflowGateway, settings: Settings, resource_type: str, row,
                   workflow_id: str) -> HistoryBody:
    status, reason = effective_status(row)
    ops = session.execute(
        select(OperationRow).where(OperationRow.resource_id == row.id).order_by(OperationRow.seq)
    ).scalars().all()
    operations = [
        OperationRecord(seq=op.seq, op_id=op.op_id, kind=op.kind, accepted_at=op.accepted_at, delivered=op.delivered,
                        applied=op.seq <= row.applied_seq, payload=op.payload or {})
        for op in ops
    ]
    session.close()
    runs, unavailable = await _workflow_runs(gateway, settings, workflow_id)
    recent = await asyncio.to_thread(events.resource_events, session.get_bind(), row.id)
    return HistoryBody(
        resource_type=resource_type,
        id=row.id,
        status=status,
        status_reason=reason,
        operations=operations,
        workflow_runs=runs,
        workflow_runs_unavailable=unavailable,
        events=[StatusEvent(id=e.id, type=events.event_type(e.resource_type, e.kind), data=EventData(**e.data)) for e in recent],
    )


async def _workflow_runs(gateway: WorkflowGateway, settings: Settings, workflow_id: str) -> tuple[list[WorkflowRun], str | None]:
    """The newest RUNS_SHOWN runs of `workflow_id`, oldest first (visibility lags by a moment)."""
    runs: list[WorkflowRun] = []
    try:
        client = await gateway.client()
        async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"', limit=RUNS_SHOWN, rpc_timeout=RPC_TIMEOUT):
            runs.append(
                WorkflowRun(
                    workflow_id=execution.id,
                    run_id=execution.run_id,
                    status=execution.status.name if execution.status else None,
                    start_time=execution.start_time,
                    close_time=execution.close_time,
                    link=_run_link(settings, execution.id, execution.run_id),
                )
            )
    except (RPCError, EngineUnavailable) as error:
        return [], f"the workflow engine could not be asked: {str(error)[:200]}"
    runs.sort(key=lambda run: run.start_time or run.close_time)
    return runs, None


def _run_link(settings: Settings, workflow_id: str, run_id: str) -> str:
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{quote(settings.temporal_namespace)}/workflows/{quote(workflow_id)}/{quote(run_id)}/history"


def _reread(engine: Engine, table, resource_id: str):
    with Session(engine) as session:
        row = session.get(table, resource_id)
        if row is not None:
            session.expunge(row)
        return row
