"""`Idempotency-Key` on POST: the same key and body give the same resource, whatever the
retries, the concurrency or the API restarts in between (the keys live in the database)."""

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from api.problems import BadRequest, IdempotencyKeyReused
from api.write_flow import Written
from store.tables import IdempotencyRow

_NAMESPACE = uuid.UUID("6f1f6d0e-4f7e-4a51-9d1e-2b6d3c1f9a10")
MAX_KEY_LENGTH = 255


def request_hash(path: str, body: Any) -> str:
    canonical = json.dumps({"path": path, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def resource_id_for(tenant_id: str, key: str | None) -> str:
    """With a key, the id is derived from it: two concurrent POSTs with one key collide on the
    primary key and only one resource can ever exist."""
    if key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}\0{key}"))


def check_key(key: str | None) -> None:
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise BadRequest(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} characters.")


def find(session: Session, tenant_id: str, key: str, digest: str) -> IdempotencyRow | None:
    """The earlier request with this key; IdempotencyKeyReused when its body differed."""
    row = session.execute(
        select(IdempotencyRow).where(IdempotencyRow.tenant_id == tenant_id, IdempotencyRow.key == key)
    ).scalar_one_or_none()
    if row is not None and row.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used with a different request; use a new key for a new request."
        )
    return row


def replay(session: Session, tenant_id: str, key: str | None, digest: str, get: Callable[..., Any], id_name: str):
    """The resource an earlier request with `key` made, as a replayed `Written`; None without a
    key or an earlier request. `get(session, **{id_name: id})` reads it (store/<resource>.get).
    BadRequest when it has since been deleted; IdempotencyKeyReused when the body differed."""
    if not key:
        return None
    earlier = find(session, tenant_id, key, digest)
    if earlier is None:
        return None
    row = get(session, **{id_name: earlier.resource_id})
    if row is None:
        raise BadRequest(f"The {earlier.resource_type} created with this Idempotency-Key has since been deleted.")
    return Written(row, accepted=False, replay=True)


def record_if_keyed(session: Session, tenant_id: str, key: str | None, digest: str, resource_type: str, resource_id: str) -> None:
    if key:
        record(session, tenant_id=tenant_id, key=key, digest=digest, resource_type=resource_type, resource_id=resource_id)


def record(session: Session, *, tenant_id: str, key: str, digest: str, resource_type: str, resource_id: str) -> None:
    session.add(
        IdempotencyRow(tenant_id=tenant_id, key=key, request_hash=digest, resource_type=resource_type, resource_id=resource_id)
    )
