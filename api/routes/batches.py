"""/v1.1/tenants/{tenant_id}/batches: whole topologies in one request.

POST validates the whole batch before anything is written (a bad item: 422 naming it, e.g.
`ports[3] (ref p3)`, and nothing is stored), then writes in one transaction the batch, its items
and the resources they make: ordinary network and port rows, PROVISIONING, each with its
operations in the outbox (CREATE at seq 1; a port's attachment is an ATTACH at seq 2), marked
delivered because the batch workflow applies them, not the resources' own workflows. Then it
starts the batch's workflow; when the engine cannot be reached, the writes are undone and the
answer is 503, as for every write.

An operation accepted on a resource the batch has not settled yet (say a PUT on a batch's port)
waits in the outbox until the batch has applied its own operations on that resource; the
resource's workflow then starts from the state the batch left.
"""

import json
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode

from api import idempotency
from api.batch_flow import kind_totals, start_batch
from api.deps import GatewayDep, PreferencesDep, SessionDep, SettingsDep, TenantCallerDep, allow_query, check_uuid, strict_handling
from api.problems import ERROR_RESPONSES, BadRequest, BatchNotFound, InvalidBody, UnsupportedMediaType
from api.routes.admin import NothingToRetry
from api.views import workflow_url
from api.workflow_gateway import RPC_TIMEOUT, EngineUnavailable
from api.write_flow import engine_down, require_engine
from netprov.batch import (
    MAX_ITEMS,
    BatchBody,
    BatchCreateRequest,
    BatchesResponse,
    BatchItemBody,
    BatchResponse,
    BatchSpec,
    BatchSummary,
    ItemKind,
)
from netprov.naming import batch_workflow_id
from netprov.operations import OpKind
from netprov.resources import Links
from netprov.settings import Settings
from netprov.status import NO_ATTACHMENT, PROVISIONING, AdminState, AttachmentStatus, BatchStatus, LinkStatus, NetworkStatus, ResourceType
from plugins.registry import UnknownPluginError, plugin_class
from store import batches as store
from store.projection import effective_status
from store.tables import BatchItemRow, BatchRow, IdempotencyRow, NetworkRow, PortRow, utcnow

router = APIRouter(prefix="/v1.1/tenants/{tenant_id}/batches", tags=["batches"], responses=ERROR_RESPONSES)
BATCH = ResourceType.BATCH.value
MAX_ERRORS = 20


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


def batch_path(tenant_id: str, batch_id: str) -> str:
    # Percent-encoded, as api/views.py does: a tenant id may hold any character, a Location header only latin-1.
    return f"/v1.1/tenants/{quote(tenant_id, safe='')}/batches/{batch_id}"


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
    """The body may be up to 4 MiB (the one exception to the 64 KiB limit) and hold up to 5,000 items."""
    idempotency.check_key(idempotency_key)
    with_items = detail_flag_named(request, "items")
    raw = await _json_body(request)
    spec = _parse(raw)
    engine = session.get_bind()
    session.close()  # authentication is done: give its connection back while the batch is stored
    digest = idempotency.request_hash(f"/v1.1/tenants/{tenant_id}/batches", raw)
    # The database work of a big batch takes a while: off the event loop, on a session of its own.
    earlier = await run_in_threadpool(_earlier, engine, tenant_id, idempotency_key, digest)
    if earlier is None:
        await require_engine(gateway)
        stored = await run_in_threadpool(
            _store, engine, settings, tenant_id, spec, idempotency_key, digest, strict_handling(prefs, settings)
        )
        if isinstance(stored, str):
            earlier = stored
        else:
            batch, kinds = stored
            try:
                await start_batch(gateway, batch, kinds)
            except EngineUnavailable as error:
                await run_in_threadpool(_unstore, engine, batch.id)
                raise engine_down(error) from error
    batch_id = earlier or batch.id
    response.headers["Location"] = batch_path(tenant_id, batch_id)
    return {"batch": await run_in_threadpool(_body_of, engine, tenant_id, batch_id, settings, with_items)}


def _earlier(engine: Engine, tenant_id: str, key: str | None, digest: str) -> str | None:
    """The batch an earlier POST with this Idempotency-Key made (422 when its body differed)."""
    if not key:
        return None
    with Session(engine) as session:
        row = idempotency.find(session, tenant_id, key, digest)
        if row is None:
            return None
        if session.get(BatchRow, row.resource_id) is None:
            raise BadRequest("The batch created with this Idempotency-Key no longer exists.")
        return row.resource_id


def _store(
    engine: Engine, settings: Settings, tenant_id: str, spec: BatchSpec, key: str | None, digest: str, strict: bool
) -> tuple[BatchRow, dict[str, int]] | str:
    """Validate and write the batch in one transaction; the batch row and its item counts per
    kind, or the id of the batch a concurrent POST with the same Idempotency-Key stored."""
    with Session(engine) as session:
        plan = _validate(spec, session, tenant_id, settings, strict)
        batch_id = idempotency.resource_id_for(tenant_id, key)
        batch = BatchRow(id=batch_id, tenant_id=tenant_id, status=BatchStatus.PROVISIONING.value)
        try:
            store.insert_batch(session, batch, **_rows(plan, batch_id, tenant_id))
            if key:
                idempotency.record(session, tenant_id=tenant_id, key=key, digest=digest, resource_type=BATCH, resource_id=batch_id)
            session.commit()
        except IntegrityError:
            session.rollback()
            earlier = idempotency.find(session, tenant_id, key, digest) if key else None
            if earlier is not None:
                return earlier.resource_id
            # Another request plugged one of these interfaces between validation and commit.
            raise InvalidBody("An interface of this batch was plugged into another port meanwhile; nothing was stored.") from None
        session.refresh(batch)
        session.expunge(batch)
        return batch, {kind.value: len(plan[kind.plural]) for kind in ItemKind}


def _unstore(engine: Engine, batch_id: str) -> None:
    """Undo `_store` of a batch whose workflow could not be started."""
    with Session(engine) as session:
        store.remove_batch(session, batch_id)
        session.execute(IdempotencyRow.__table__.delete().where(IdempotencyRow.resource_id == batch_id))
        session.commit()


def _body_of(engine: Engine, tenant_id: str, batch_id: str, settings: Settings, with_items: bool) -> BatchBody:
    with Session(engine) as session:
        return batch_body(session, _batch_of(session, tenant_id, batch_id), settings, with_items)


@router.get("/{batch_id}", response_model=BatchResponse, dependencies=[allow_query("items")])
def show_batch(tenant_id: str, batch_id: str, request: Request, caller: TenantCallerDep, session: SessionDep, settings: SettingsDep):
    """Status, counts per kind and status, and (unless `?items=false`) every item."""
    batch = _batch_of(session, tenant_id, batch_id)
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
    batch = _batch_of(session, tenant_id, batch_id)
    counts = store.item_counts(session, batch.id)
    if store.batch_status(counts) != BatchStatus.PROVISIONING:
        return Response(status_code=204)
    await require_engine(gateway)
    store.request_cancel(session, batch.id, True)
    session.commit()
    if batch.started:
        try:
            client = await gateway.client()
            await client.get_workflow_handle(batch_workflow_id(batch.id)).signal("cancel", rpc_timeout=RPC_TIMEOUT)
        except (EngineUnavailable, RPCError) as error:
            if not (isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND):
                store.request_cancel(session, batch.id, False)
                session.commit()
                raise engine_down(error) from error
            # No run: the one that starts next (the sweeper's) reads cancel_requested.
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
    batch = _batch_of(session, tenant_id, batch_id)
    with_items = detail_flag_named(request, "items")
    if store.batch_status(store.item_counts(session, batch.id)) == BatchStatus.PROVISIONING:
        raise NothingToRetry(f"Batch {batch.id} is still provisioning; retry it once it has settled.")
    await require_engine(gateway)
    if not store.prepare_retry(session, batch):
        session.rollback()
        raise NothingToRetry(
            f"Batch {batch.id} has no failed item to re-drive (an item whose resource was deleted or has "
            "operations of its own since is left to its resource's workflow)."
        )
    batch.generation += 1
    batch.started = False
    batch.cancel_requested = False
    batch.status = BatchStatus.PROVISIONING.value
    batch.updated_at = utcnow()
    session.add(batch)
    session.commit()
    try:
        await start_batch(gateway, batch, kind_totals(session, batch.id))
    except EngineUnavailable:
        # The retry is stored (a 2xx write is never lost): the outbox sweeper starts it once the
        # engine is back.
        pass
    session.expire_all()
    return {"batch": batch_body(session, batch, settings, with_items)}


# -- bodies --------------------------------------------------------------------------------


def batch_body(session: Session, batch: BatchRow, settings: Settings, with_items: bool = True) -> BatchBody:
    counts = store.item_counts(session, batch.id)
    items = None
    if with_items:
        items = [_item_body(item) for item in store.batch_items(session, batch.id)]
    return BatchBody(
        id=batch.id,
        status=store.batch_status(counts).value,
        counts=counts,
        items=items,
        cancelled=batch.cancel_requested,
        retries=batch.generation,
        created_at=batch.created_at,
        updated_at=batch.updated_at,
        links=Links(self=batch_path(batch.tenant_id, batch.id), workflow=workflow_url(settings, batch_workflow_id(batch.id))),
    )


def _item_body(item: BatchItemRow) -> BatchItemBody:
    if item.kind == ItemKind.NETWORK:
        return BatchItemBody(ref=item.ref, kind=item.kind, id=item.resource_id, status=item.status, error=item.error)
    if item.kind == ItemKind.PORT:
        return BatchItemBody(ref=item.ref, kind=item.kind, id=item.resource_id, status=item.status, error=item.error,
                             network_id=item.network_id)
    return BatchItemBody(ref=item.ref, kind=item.kind, id=item.iface_id or "", status=item.status, error=item.error,
                         network_id=item.network_id, port_id=item.resource_id)


def _batch_of(session: Session, tenant_id: str, batch_id: str) -> BatchRow:
    batch_id = check_uuid(batch_id, "batch id")
    batch = session.get(BatchRow, batch_id)
    if batch is None or batch.tenant_id != tenant_id:
        raise BatchNotFound(f"Batch {batch_id} not found.")
    return batch


def detail_flag_named(request: Request, name: str) -> bool:
    """`?items=true|false` (default true)."""
    value = request.query_params.get(name)
    if value is None:
        return True
    if value.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false, not {value[:40]!r}.")
    return value.lower() in ("true", "1")


# -- validation ----------------------------------------------------------------------------


async def _json_body(request: Request) -> Any:
    """The JSON body, read as FastAPI reads bodies: no Content-Type or a JSON one; otherwise 415."""
    content_type = request.headers.get("content-type")
    if content_type:
        kind = content_type.split(";", 1)[0].strip().lower()
        if not (kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))):
            raise UnsupportedMediaType("Send the request body as JSON, with Content-Type: application/json.")
    body = await request.body()
    if not body:
        raise InvalidBody("The request body is empty; send {\"batch\": {...}}.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None


def _parse(raw: Any) -> BatchSpec:
    try:
        return BatchCreateRequest.model_validate(raw).batch
    except ValidationError as error:
        problems = []
        for e in error.errors()[:MAX_ERRORS]:
            problems.append(f"{_name_location(raw, e.get('loc', ()))}: {e.get('msg', 'invalid')}")
        raise InvalidBody(_summary(problems), errors=problems) from None


def _name_location(raw: Any, loc: tuple) -> str:
    """("batch", "ports", 3, "state") -> "ports[3] (ref p3).state"."""
    parts = [p for p in loc if p != "batch"]
    if len(parts) >= 2 and parts[0] in ("networks", "ports", "attachments") and isinstance(parts[1], int):
        name = _item_name(raw, parts[0], parts[1])
        rest = ".".join(str(p) for p in parts[2:])
        return f"{name}.{rest}" if rest else name
    return ".".join(str(p) for p in parts) or "batch"


def _item_name(raw: Any, kind: str, index: int) -> str:
    try:
        item = raw["batch"][kind][index]
    except (KeyError, IndexError, TypeError):
        return f"{kind}[{index}]"
    if isinstance(item, dict):
        if isinstance(item.get("ref"), str):
            return f"{kind}[{index}] (ref {item['ref'][:80]})"
        if kind == "attachments" and isinstance(item.get("port"), str):
            return f"{kind}[{index}] (port {item['port'][:80]})"
    return f"{kind}[{index}]"


def _summary(problems: list[str]) -> str:
    others = len(problems) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return f"{problems[0]}{more}; nothing was stored."


def _validate(spec: BatchSpec, session: Session, tenant_id: str, settings: Settings, strict: bool) -> dict:
    """Check the whole batch; return it resolved (ids chosen, defaults filled) or raise a 422 that
    names every bad item (up to MAX_ERRORS)."""
    problems: list[str] = []

    def bad(kind: str, index: int, ref: str, message: str) -> None:
        problems.append(f"{kind}[{index}] ({ref[:80]}): {message}")

    total = len(spec.networks) + len(spec.ports) + len(spec.attachments)
    if total == 0:
        raise InvalidBody("The batch has no items: give networks, ports or attachments.")
    if total > MAX_ITEMS:
        raise InvalidBody(f"The batch has {total} items; at most {MAX_ITEMS} are allowed in one batch.")

    refs: dict[str, str] = {}  # ref -> kind
    networks = []
    for index, n in enumerate(spec.networks):
        if n.ref in refs:
            bad("networks", index, f"ref {n.ref}", f"ref {n.ref!r} is used twice in this batch")
        refs.setdefault(n.ref, "network")
        plugin = n.plugin or settings.plugin
        try:
            plugin_class(plugin)
        except UnknownPluginError as error:
            bad("networks", index, f"ref {n.ref}", str(error))
        networks.append({"ref": n.ref, "id": str(uuid.uuid4()), "name": n.name, "plugin": plugin})
    network_ids = {n["ref"]: n["id"] for n in networks}

    existing_wanted = sorted({p.network for p in spec.ports if p.network not in network_ids and _is_uuid(p.network)})
    existing = store.networks_by_id(session, existing_wanted)
    ports = []
    for index, p in enumerate(spec.ports):
        if p.ref in refs:
            bad("ports", index, f"ref {p.ref}", f"ref {p.ref!r} is used twice in this batch")
        refs.setdefault(p.ref, "port")
        state = (p.state or AdminState.DOWN.value).upper()
        if state not in AdminState.__members__:
            bad("ports", index, f"ref {p.ref}", f"state {str(p.state)[:40]!r} is not ACTIVE or DOWN")
        network_id = network_ids.get(p.network)
        network_name = ""
        if network_id is None:
            problem, network_row = _existing_network_problem(p.network, existing, tenant_id, strict, refs)
            if problem:
                bad("ports", index, f"ref {p.ref}", problem)
            else:
                network_id, network_name = network_row.id, network_row.name
        else:
            network_name = next(n["name"] for n in networks if n["ref"] == p.network)
        ports.append({"ref": p.ref, "id": str(uuid.uuid4()), "network_id": network_id, "network_name": network_name,
                      "state": state, "attachment": None})
    port_by_ref = {p["ref"]: p for p in ports}

    ifaces: dict[str, int] = {}
    attachments = []
    for index, a in enumerate(spec.attachments):
        name = f"ref {a.ref}" if a.ref else f"port {a.port}"
        if a.ref is not None:
            if a.ref in refs:
                bad("attachments", index, name, f"ref {a.ref!r} is used twice in this batch")
            refs.setdefault(a.ref, "attachment")
        port = port_by_ref.get(a.port)
        if port is None:
            what = f"a {refs[a.port]} ref" if a.port in refs else "not a ref of this batch"
            bad("attachments", index, name, f"port {a.port!r} is {what}; an attachment names a port ref of this batch")
        elif port["attachment"] is not None:
            bad("attachments", index, name, f"port {a.port!r} already has an attachment in this batch (one per port)")
        if a.id in ifaces:
            bad("attachments", index, name, f"interface {a.id!r} is also attached by attachments[{ifaces[a.id]}]")
        ifaces.setdefault(a.id, index)
        attachment = {"ref": a.ref or a.port, "iface_id": a.id, "host": a.host or settings.default_host, "index": index, "name": name}
        if port is not None and port["attachment"] is None:
            port["attachment"] = attachment
        attachments.append(attachment)
    for iface in sorted(store.plugged_ifaces(session, list(ifaces))):
        index = ifaces[iface]
        bad("attachments", index, attachments[index]["name"], f"interface {iface!r} is already plugged into another port")

    if problems:
        raise InvalidBody(_summary(problems[:MAX_ERRORS]), errors=problems[:MAX_ERRORS])
    return {"networks": networks, "ports": ports, "attachments": attachments}


def _existing_network_problem(value: str, existing: dict[str, NetworkRow], tenant_id: str, strict: bool, refs: dict):
    """Why `value` cannot be the network of a port (None, row when it can)."""
    if value in refs:
        return f"network {value!r} is a {refs[value]} ref, not a network ref", None
    row = existing.get(str(uuid.UUID(value))) if _is_uuid(value) else None
    if row is None or row.tenant_id != tenant_id:
        return f"network {value[:80]!r} is neither a network ref of this batch nor a network of this tenant", None
    status, reason = effective_status(row)
    if row.deleting:
        return f"network {row.id} is being deleted", None
    if status == NetworkStatus.ERROR:
        return f"network {row.id} is in ERROR ({reason}); no new ports on it", None
    if strict and status != NetworkStatus.AVAILABLE:
        return f"network {row.id} is {status}; strict handling needs it AVAILABLE", None
    return None, row


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# -- rows ----------------------------------------------------------------------------------


def _rows(plan: dict, batch_id: str, tenant_id: str) -> dict[str, list[dict]]:
    """The rows `store.insert_batch` writes: resources, their operations, the batch's items."""
    now = utcnow()
    queued = f"queued in batch {batch_id}"
    network_template = NetworkRow(id="", tenant_id=tenant_id, name="", plugin="", status=PROVISIONING).model_dump()
    port_template = PortRow(id="", tenant_id=tenant_id, network_id="", state="", status=PROVISIONING).model_dump()
    common = {"batch_id": batch_id, "created_at": now, "updated_at": now, "progress": queued}
    networks, ports, operations, items = [], [], [], []

    def operation(resource_type: str, resource_id: str, seq: int, kind: OpKind, **payload) -> str:
        op_id = str(uuid.uuid4())
        operations.append({
            "op_id": op_id, "resource_type": resource_type, "resource_id": resource_id, "tenant_id": tenant_id,
            "seq": seq, "kind": kind.value, "payload": {"batch_id": batch_id, **payload}, "delivered": True, "accepted_at": now,
        })
        return op_id

    def item(kind: ItemKind, index: int, ref: str, resource_id: str, op_id: str, seq: int, **extra) -> None:
        items.append({
            "batch_id": batch_id, "position": len(items), "kind": kind.value, "kind_index": index, "ref": ref,
            "resource_id": resource_id, "network_id": extra.get("network_id"), "iface_id": extra.get("iface_id"),
            "host": extra.get("host"), "op_id": op_id, "op_seq": seq, "status": PROVISIONING, "error": None, "attempts": 0,
        })

    for index, n in enumerate(plan["networks"]):
        networks.append(network_template | common | {
            "id": n["id"], "name": n["name"], "plugin": n["plugin"], "accepted_seq": 1, "plugin_data": {},
        })
        item(ItemKind.NETWORK, index, n["ref"], n["id"], operation("network", n["id"], 1, OpKind.CREATE), 1)
    for index, p in enumerate(plan["ports"]):
        a = p["attachment"]
        row = port_template | common | {
            "id": p["id"], "network_id": p["network_id"], "state": p["state"], "accepted_seq": 1 if a is None else 2,
            "link_status": LinkStatus.DOWN.value, "link_status_string": NO_ATTACHMENT, "conditions": [],
        }
        if a is not None:
            row |= {"attachment_id": a["iface_id"], "attachment_host": a["host"], "attachment_status": AttachmentStatus.PROVISIONING.value}
        ports.append(row)
        item(ItemKind.PORT, index, p["ref"], p["id"], operation("port", p["id"], 1, OpKind.CREATE, state=p["state"]), 1,
             network_id=p["network_id"])
    port_of_attachment = {id(p["attachment"]): p for p in plan["ports"] if p["attachment"] is not None}
    for index, a in enumerate(plan["attachments"]):
        p = port_of_attachment[id(a)]
        op_id = operation("port", p["id"], 2, OpKind.ATTACH, iface_id=a["iface_id"], host=a["host"])
        item(ItemKind.ATTACHMENT, index, a["ref"], p["id"], op_id, 2, network_id=p["network_id"], iface_id=a["iface_id"], host=a["host"])
    return {"networks": networks, "ports": ports, "operations": operations, "items": items}
