"""/v1.1/tenants/{tenant_id}/batches: whole topologies in one request.

POST reads the body into typed items (api/batch_parsing.py), and the batch flow
(api/batch_flow.py) plans them whole before anything is written (a bad item: 422 naming it,
e.g. `ports[3] (ref p3)`, and nothing is stored; api/batch_planning.py), stores the batch, its
items and the resources they make in one transaction, and starts the batch's workflow; when the
engine cannot be reached, the writes are undone and the answer is 503, as for every write.

An operation accepted on a resource the batch has not settled yet (say a PUT on a batch's port)
waits in the outbox until the batch has applied its own operations on that resource; the
resource's workflow then starts from the state the batch left.
"""

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api import idempotency
from api.batch_write_flow import IdempotentRequest, accept_batch, redrive_failed, request_cancel
from api.batch_parsing import json_body, parse_batch
from api.batch_views import batch_body, batch_of, batch_path, detail_flag_named
from api.deps import GatewayDep, PreferencesDep, SessionDep, SettingsDep, TenantCallerDep, allow_query, strict_handling
from api.problems import ERROR_RESPONSES
from api.routes.admin import NothingToRetry
from netprov.batch import BatchBody, BatchesResponse, BatchResponse, BatchSummary
from netprov.batch_requests import BatchCreateRequest
from netprov.settings import Settings
from netprov.status import BatchStatus
from store import batches as store

router = APIRouter(prefix="/v1.1/tenants/{tenant_id}/batches", tags=["batches"], responses=ERROR_RESPONSES)


def _inlined(schema: dict) -> dict:
    """`schema` with its `$defs` written in place of their references (none is recursive), so the
    OpenAPI document needs no component for them."""
    definitions = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


# The body is parsed by the handler (so that a bad item's error names it); documented here.
_REQUEST_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(BatchCreateRequest.model_json_schema())}},
    }
}


# -- endpoints -----------------------------------------------------------------------------


@router.get("", response_model=BatchesResponse, dependencies=[allow_query()])
def list_batches(tenant_id: str, caller: TenantCallerDep, session: SessionDep):
    return {"batches": [BatchSummary(id=b.id, status=b.status, created_at=b.created_at) for b in store.tenant_batches(session, tenant_id)]}


@router.post(
    "",
    status_code=202,
    response_model=BatchResponse,
    response_model_exclude_none=False,
    dependencies=[allow_query("items")],
    openapi_extra=_REQUEST_SCHEMA,
    summary="Provision a topology: networks, ports and attachments in one request",
)
async def create_batch(
    tenant_id: str,
    request: Request,
    caller: TenantCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    prefs: PreferencesDep,
    response: Response,
    idempotency_key: str | None = Header(default=None),
):
    """The body may be up to 4 MiB (the one exception to the 64 KiB limit) and hold up to 25,000 items."""
    idempotency.check_key(idempotency_key)
    with_items = detail_flag_named(request, "items")
    raw = await json_body(request)
    spec = parse_batch(raw)
    engine = session.get_bind()
    session.close()  # authentication is done: give its connection back while the batch is stored
    idempotent = None
    if idempotency_key:
        idempotent = IdempotentRequest(idempotency_key, idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/batches", raw))
    accepted = await accept_batch(
        engine, gateway, settings, tenant_id=tenant_id, spec=spec, strict=strict_handling(prefs, settings), idempotent=idempotent
    )
    response.headers["Location"] = batch_path(tenant_id, accepted.batch_id)
    return {"batch": await run_in_threadpool(_body_of, engine, tenant_id, accepted.batch_id, settings, with_items)}


def _body_of(engine: Engine, tenant_id: str, batch_id: str, settings: Settings, with_items: bool) -> BatchBody:
    with Session(engine) as session:
        return batch_body(session, batch_of(session, tenant_id, batch_id), settings, with_items)


@router.get("/{batch_id}", response_model=BatchResponse, dependencies=[allow_query("items")])
def show_batch(tenant_id: str, batch_id: str, request: Request, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    """Status, counts per kind and status, and (unless `?items=false`) every item."""
    batch = batch_of(session, tenant_id, batch_id)
    return {"batch": batch_body(session, batch, settings, detail_flag_named(request, "items"))}


@router.delete(
    "/{batch_id}",
    status_code=202,
    response_model=BatchResponse,
    dependencies=[allow_query()],
    responses={204: {"description": "Nothing left to cancel: every item had already been applied"}},
)
async def cancel_batch(
    tenant_id: str, batch_id: str, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep, gateway: GatewayDep
):
    """Cancel what has not been applied yet: those items end ERROR "cancelled" and the resources
    they would have made are removed; nothing already provisioned is undone. The batch stays
    readable. 202 while the cancellation runs, 204 when there was nothing left to cancel."""
    batch = batch_of(session, tenant_id, batch_id)
    if store.batch_status(store.item_counts(session, batch.id)) != BatchStatus.PROVISIONING:
        return Response(status_code=204)
    await request_cancel(session, gateway, batch)
    session.expire_all()
    return {"batch": batch_body(session, batch, settings, with_items=False)}


@router.post("/{batch_id}/actions/retry", status_code=202, response_model=BatchResponse, dependencies=[allow_query("items")])
async def retry_batch(
    tenant_id: str, batch_id: str, request: Request, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep, gateway: GatewayDep
):
    """Re-drive the batch's failed items (each with a new operation, so the plugin applies it
    afresh). Items whose resource changed since (deleted, or with operations of its own) are left
    as they are. 409 NothingToRetry while the batch is still provisioning or when no item can be
    re-driven."""
    batch = batch_of(session, tenant_id, batch_id)
    with_items = detail_flag_named(request, "items")
    if store.batch_status(store.item_counts(session, batch.id)) == BatchStatus.PROVISIONING:
        raise NothingToRetry(f"Batch {batch.id} is still provisioning; retry it once it has settled.")
    if not await redrive_failed(session, gateway, batch):
        raise NothingToRetry(
            f"Batch {batch.id} has no failed item to re-drive (an item whose resource was deleted or has "
            "operations of its own since is left to its resource's workflow)."
        )
    session.expire_all()
    return {"batch": batch_body(session, batch, settings, with_items)}
