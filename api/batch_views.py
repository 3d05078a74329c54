"""What `/v1.1/tenants/{t}/batches` answers: a batch's body (status from its items, counts per
kind and status, the items themselves unless `?items=false`) and its path."""

from urllib.parse import quote

from fastapi import Request
from sqlmodel import Session

from api.deps import check_uuid
from api.problems import BadRequest, BatchNotFound
from api.views import workflow_url
from netprov.batch import BatchBody, BatchItemBody, BatchPurpose, ItemKind
from netprov.naming import batch_workflow_id
from netprov.resources import Links
from netprov.settings import Settings
from store import batches as store
from store.tables import BatchItemRow, BatchRow


def batch_path(tenant_id: str, batch_id: str) -> str:
    # Percent-encoded, as api/views.py does: a tenant id may hold any character, a Location header only latin-1.
    return f"/v1.1/tenants/{quote(tenant_id, safe='')}/batches/{batch_id}"


def batch_of(session: Session, tenant_id: str, batch_id: str) -> BatchRow:
    """The tenant's batch `batch_id`: 400 for a malformed id, 404 BatchNotFound for another tenant's too."""
    batch_id = check_uuid(batch_id, "batch id")
    batch = session.get(BatchRow, batch_id)
    # A QoS fan-out is netprov's own way of applying a policy change, not a batch the tenant posted.
    if batch is None or batch.tenant_id != tenant_id or batch.purpose != BatchPurpose.TOPOLOGY:
        raise BatchNotFound(f"Batch {batch_id} not found.")
    return batch


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


def detail_flag_named(request: Request, name: str) -> bool:
    """`?<name>=true|false` (default true)."""
    value = request.query_params.get(name)
    if value is None:
        return True
    if value.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false, not {value[:40]!r}.")
    return value.lower() in ("true", "1")
